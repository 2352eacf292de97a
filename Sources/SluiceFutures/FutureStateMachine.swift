//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// The outcome of a ``Future`` with its value type erased.
///
/// The machinery behind `Future<T>` is not generic: generic code that is not specialised looks up type
/// metadata at run time on almost every step, and that cost dominated the per-task overhead of the pool.
/// Values are erased to `any Sendable` when the work finishes and cast back to `T` where a caller reads
/// them (``result(as:)``).
enum FutureOutcome: Sendable {
    case success(any Sendable)
    case failure(any Error)

    init<T: Sendable>(catching work: () throws -> T) {
        do {
            self = .success(try work())
        } catch {
            self = .failure(error)
        }
    }

    init<T: Sendable>(_ result: Result<T, any Error>) {
        switch result {
        case .success(let value): self = .success(value)
        case .failure(let error): self = .failure(error)
        }
    }

    /// The outcome as a typed `Result`. `T` must be the type the outcome was created with.
    func result<T: Sendable>(as type: T.Type) -> Result<T, any Error> {
        switch self {
        case .success(let value):
            guard let typed = value as? T else {
                preconditionFailure("a Future<\(T.self)> holds a value of type \(Swift.type(of: value))")
            }
            return .success(typed)
        case .failure(let error):
            return .failure(error)
        }
    }
}

/// The work a ``Future`` runs when an executor starts it, with its result type erased.
typealias FutureWork = @Sendable () -> FutureOutcome

/// A completion callback registered on a ``Future``, with its result type erased.
typealias FutureCallback = @Sendable (FutureOutcome) -> Void

/// The completion callbacks of one future, optimised for the common case of zero or one callback.
struct FutureCallbacks {
    struct Entry {
        var id: UInt64
        var body: FutureCallback
    }

    private enum Storage {
        case empty
        case one(Entry)
        case many([Entry])
    }

    private var storage: Storage = .empty

    init() {}

    var isEmpty: Bool {
        if case .empty = self.storage { return true }
        return false
    }

    var count: Int {
        switch self.storage {
        case .empty: 0
        case .one: 1
        case .many(let entries): entries.count
        }
    }

    mutating func append(_ entry: Entry) {
        switch self.storage {
        case .empty:
            self.storage = .one(entry)
        case .one(let first):
            self.storage = .many([first, entry])
        case .many(var entries):
            self.storage = .empty
            entries.append(entry)
            self.storage = .many(entries)
        }
    }

    /// Removes and returns the callback registered under `id`, if it has not run yet.
    mutating func remove(id: UInt64) -> Entry? {
        switch self.storage {
        case .empty:
            return nil
        case .one(let entry):
            guard entry.id == id else { return nil }
            self.storage = .empty
            return entry
        case .many(var entries):
            guard let index = entries.firstIndex(where: { $0.id == id }) else { return nil }
            self.storage = .empty
            let entry = entries.remove(at: index)
            self.storage = entries.isEmpty ? .empty : .many(entries)
            return entry
        }
    }

    /// Calls every callback, in registration order.
    func run(with result: FutureOutcome) {
        switch self.storage {
        case .empty:
            break
        case .one(let entry):
            entry.body(result)
        case .many(let entries):
            for entry in entries { entry.body(result) }
        }
    }
}

/// The state of one ``Future``, as a value type that returns actions for its owner to perform after unlocking.
///
/// ```
/// pending ──start──▶ running ──complete──▶ finished | failed
///    │ └────────────complete (Promise)──────▶ finished | failed
///    └──cancel──▶ cancelled
/// ```
struct FutureStateMachine {
    enum State {
        /// Not started. Executor futures hold their work here until it starts; promise futures hold `nil`.
        case pending(FutureWork?)
        case running
        case completed(FutureOutcome)
        case cancelled
    }

    private(set) var state: State
    private var callbacks = FutureCallbacks()
    private var nextCallbackID: UInt64 = 0

    init(work: FutureWork?) {
        self.state = .pending(work)
    }

    init(result: FutureOutcome) {
        self.state = .completed(result)
    }

    /// The public view of ``state``.
    var futureState: FutureState {
        switch self.state {
        case .pending: .pending
        case .running: .running
        case .completed(.success): .finished
        case .completed(.failure): .failed
        case .cancelled: .cancelled
        }
    }

    /// The outcome once done: the value, the thrown error, or ``FutureError/cancelled``.
    var outcome: FutureOutcome? {
        switch self.state {
        case .pending, .running: nil
        case .completed(let result): result
        case .cancelled: .failure(FutureError.cancelled)
        }
    }

    var callbackCount: Int { self.callbacks.count }

    enum StartAction {
        /// Run this work, then call ``complete(_:)``.
        case run(FutureWork)
        /// A promise future (no work) is now running.
        case started
        /// Not pending any more (cancelled, already running or done): do nothing.
        case notPending
    }

    /// `pending → running`; the step Python calls `set_running_or_notify_cancel`.
    mutating func start() -> StartAction {
        guard case .pending(let work) = self.state else { return .notPending }
        self.state = .running
        if let work { return .run(work) }
        return .started
    }

    enum CompleteAction {
        /// Call these callbacks with the result, after unlocking.
        case runCallbacks(FutureCallbacks, FutureOutcome)
        /// The future was already done (for example cancelled): the result is dropped.
        case alreadyDone
    }

    /// `pending | running → finished | failed`.
    mutating func complete(_ result: FutureOutcome) -> CompleteAction {
        switch self.state {
        case .pending, .running:
            self.state = .completed(result)
            let callbacks = self.callbacks
            self.callbacks = FutureCallbacks()
            return .runCallbacks(callbacks, result)
        case .completed, .cancelled:
            return .alreadyDone
        }
    }

    enum CancelAction {
        /// Now cancelled: call these callbacks with ``FutureError/cancelled`` after unlocking.
        case runCallbacks(FutureCallbacks)
        /// It was cancelled before; `cancel()` still reports success, as in Python.
        case alreadyCancelled
        /// Running or completed: cannot be cancelled.
        case notCancellable
    }

    /// `pending → cancelled`. Drops the work, so whatever it captured is released at once.
    mutating func cancel() -> CancelAction {
        switch self.state {
        case .pending:
            self.state = .cancelled
            let callbacks = self.callbacks
            self.callbacks = FutureCallbacks()
            return .runCallbacks(callbacks)
        case .cancelled:
            return .alreadyCancelled
        case .running, .completed:
            return .notCancellable
        }
    }

    /// Reserves an identifier for ``addCallback(id:_:)``, so that a cancellation handler can know it in advance.
    mutating func makeCallbackID() -> UInt64 {
        defer { self.nextCallbackID &+= 1 }
        return self.nextCallbackID
    }

    enum AddCallbackAction {
        case registered
        /// Already done: call the callback now, after unlocking.
        case runNow(FutureOutcome)
    }

    mutating func addCallback(id: UInt64, _ body: @escaping FutureCallback) -> AddCallbackAction {
        if let outcome = self.outcome { return .runNow(outcome) }
        self.callbacks.append(.init(id: id, body: body))
        return .registered
    }

    /// Removes a callback that has not run. Returns it, so that whoever removes it may call it instead.
    mutating func removeCallback(id: UInt64) -> FutureCallbacks.Entry? {
        self.callbacks.remove(id: id)
    }
}
