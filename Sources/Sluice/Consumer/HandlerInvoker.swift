internal import SluiceFutures

/// Runs a handler where it belongs: a synchronous one on the worker threads, an asynchronous one
/// under Swift concurrency. Either way the outcome reaches one completion callback, exactly once.
enum HandlerInvoker: Sendable {
    case sync(any MessageHandler, ThreadPoolExecutor)
    case async(any AsyncMessageHandler)

    func run(
        _ message: KafkaMessage,
        context: HandlerContext,
        completion: @escaping @Sendable (Result<Void, any Error>) -> Void
    ) {
        switch self {
        case .sync(let handler, let executor):
            executor.submit { try handler.handle(message, context: context) }.whenComplete(completion)
        case .async(let handler):
            Task {
                do {
                    try await handler.handle(message, context: context)
                    completion(.success(()))
                } catch {
                    completion(.failure(error))
                }
            }
        }
    }

    /// Stops the worker threads (after the engine has drained what it waits for).
    func shutdown() {
        if case .sync(_, let executor) = self {
            executor.shutdown(wait: false, cancelPending: true)
        }
    }
}
