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

/// Starts the detached OS thread that runs a pool's supervisor loop, outside Swift's cooperative pool
/// (the loop blocks in `poll`).
enum SupervisorThread {
    private final class Start {
        let body: () -> Void

        init(body: @escaping () -> Void) {
            self.body = body
        }
    }

    /// Starts a detached thread that runs `body`.
    static func start(_ body: @escaping @Sendable () -> Void) {
        let start = Unmanaged.passRetained(Start(body: body)).toOpaque()
        var thread = pthread_t()
        let error = pthread_create(&thread, nil, supervisorThreadEntry, start)
        precondition(error == 0, "pthread_create failed with error \(error)")
        pthread_detach(thread)
    }

    /// An identifier of the calling thread, comparable with `==`.
    static var currentID: UInt {
        #if canImport(Darwin)
        UInt(bitPattern: pthread_self())
        #else
        UInt(pthread_self())
        #endif
    }

    fileprivate static func run(_ argument: UnsafeMutableRawPointer) {
        Unmanaged<Start>.fromOpaque(argument).takeRetainedValue().body()
    }
}

#if canImport(Darwin)
private func supervisorThreadEntry(_ argument: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer? {
    SupervisorThread.run(argument)
    return nil
}
#else
private func supervisorThreadEntry(_ argument: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    if let argument { SupervisorThread.run(argument) }
    return nil
}
#endif
