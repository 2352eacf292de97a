//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Starts detached, named OS threads with pthreads, outside Swift's cooperative pool.
///
/// ```swift
/// WorkerThread.start(name: "sluice-worker-0") { runLoop() }
/// ```
enum WorkerThread {
    /// Linux limits thread names to 15 bytes plus the terminating NUL.
    static let maximumNameLength = 15

    fileprivate final class Start {
        let name: String
        let body: () -> Void

        init(name: String, body: @escaping () -> Void) {
            self.name = name
            self.body = body
        }
    }

    /// Starts a detached thread named `name` (truncated to 15 bytes) that runs `body`.
    static func start(name: String, body: @escaping @Sendable () -> Void) {
        let start = Unmanaged.passRetained(Start(name: truncated(name), body: body)).toOpaque()
        var thread = pthread_t()
        let error = pthread_create(&thread, nil, workerThreadEntry, start)
        precondition(error == 0, "pthread_create failed with error \(error)")
        pthread_detach(thread)
    }

    /// `name` cut to at most 15 UTF-8 bytes, on a character boundary.
    static func truncated(_ name: String) -> String {
        var result = ""
        for character in name {
            if result.utf8.count + character.utf8.count > maximumNameLength { break }
            result.append(character)
        }
        return result
    }

    #if canImport(Darwin)
    fileprivate static func setCurrentName(_ name: String) {
        pthread_setname_np(name)
    }

    /// The name of the calling thread.
    static var currentName: String {
        var buffer = [CChar](repeating: 0, count: 64)
        pthread_getname_np(pthread_self(), &buffer, buffer.count)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    #else
    // glibc declares pthread_setname_np/pthread_getname_np only under _GNU_SOURCE, which the Swift Glibc
    // module does not define, so look them up at run time.
    private typealias SetName = @convention(c) (pthread_t, UnsafePointer<CChar>) -> Int32
    private typealias GetName = @convention(c) (pthread_t, UnsafeMutablePointer<CChar>, Int) -> Int32

    fileprivate static func setCurrentName(_ name: String) {
        guard let symbol = dlsym(nil, "pthread_setname_np") else { return }
        let setName = unsafeBitCast(symbol, to: SetName.self)
        _ = name.withCString { setName(pthread_self(), $0) }
    }

    /// The kernel name of the calling thread (empty if it cannot be read).
    static var currentName: String {
        guard let symbol = dlsym(nil, "pthread_getname_np") else { return "" }
        let getName = unsafeBitCast(symbol, to: GetName.self)
        var buffer = [CChar](repeating: 0, count: 64)
        guard getName(pthread_self(), &buffer, buffer.count) == 0 else { return "" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
    #endif

    /// Whether `thread` is the calling thread.
    static func isCurrent(_ thread: pthread_t) -> Bool {
        pthread_equal(thread, pthread_self()) != 0
    }

    /// The calling thread's identifier.
    static var current: pthread_t {
        pthread_self()
    }
}

#if canImport(Darwin)
private func workerThreadEntry(_ argument: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
    let start = Unmanaged<WorkerThread.Start>.fromOpaque(argument).takeRetainedValue()
    WorkerThread.setCurrentName(start.name)
    start.body()
    return nil
}
#else
private func workerThreadEntry(_ argument: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let argument else { return nil }
    let start = Unmanaged<WorkerThread.Start>.fromOpaque(argument).takeRetainedValue()
    WorkerThread.setCurrentName(start.name)
    start.body()
    return nil
}
#endif
