//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import CRdKafka
internal import Logging

/// What librdkafka's callbacks reach: the logger and the hooks of the layer above.
///
/// Immutable after creation, so it is `Sendable` without a lock. librdkafka gets it as the
/// configuration's opaque pointer, unretained: the owning ``RDKafkaClient`` keeps it alive and
/// destroys the `rd_kafka_t` (the only caller of the callbacks) before releasing it.
final class RDKafkaClientContext: Sendable {
    let logger: Logger
    let rebalanceHook: (@Sendable (KafkaRebalanceEvent) -> Void)?
    let commitHook: (@Sendable (KafkaCommitResult) -> Void)?
    let errorHook: (@Sendable (KafkaError) -> Void)?
    /// Masks the values of the client's sensitive properties in librdkafka's log lines and error
    /// texts (it quotes, for example, a bad `sasl.oauthbearer.config` in full).
    let redactor: SecretRedactor

    init(
        logger: Logger,
        redactor: SecretRedactor = SecretRedactor(),
        rebalanceHook: (@Sendable (KafkaRebalanceEvent) -> Void)? = nil,
        commitHook: (@Sendable (KafkaCommitResult) -> Void)? = nil,
        errorHook: (@Sendable (KafkaError) -> Void)? = nil
    ) {
        self.logger = logger
        self.redactor = redactor
        self.rebalanceHook = rebalanceHook
        self.commitHook = commitHook
        self.errorHook = errorHook
    }

    /// Installs the callbacks that apply to every client type on `config`.
    func install(on config: RDKafkaConfig, rebalance: Bool, commits: Bool) {
        config.withPointer { conf in
            rd_kafka_conf_set_opaque(conf, Unmanaged.passUnretained(self).toOpaque())
            rd_kafka_conf_set_log_cb(conf, logCallback)
            rd_kafka_conf_set_error_cb(conf, errorCallback)
            if rebalance { rd_kafka_conf_set_rebalance_cb(conf, rebalanceCallback) }
            if commits { rd_kafka_conf_set_offset_commit_cb(conf, offsetCommitCallback) }
        }
    }

    /// Recovers the context from a callback's opaque pointer.
    static func from(_ opaque: UnsafeMutableRawPointer?) -> RDKafkaClientContext? {
        opaque.map { Unmanaged<RDKafkaClientContext>.fromOpaque($0).takeUnretainedValue() }
    }

    /// Tells the layer above about a rebalance, then applies it. The hook runs *before* the
    /// assignment changes, so it can drain in-flight work and commit.
    func rebalance(_ handle: OpaquePointer, _ error: rd_kafka_resp_err_t,
                   _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) {
        let partitions = RDKafkaTopicPartitionList.partitions(of: list)
        let incremental = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"
        switch error {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            rebalanceHook?(KafkaRebalanceEvent(kind: .assigned, partitions: partitions, isIncremental: incremental))
            if incremental {
                consume(rd_kafka_incremental_assign(handle, list), action: "incremental assign")
            } else {
                check(rd_kafka_assign(handle, list), action: "assign")
            }
        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let lost = rd_kafka_assignment_lost(handle) != 0
            rebalanceHook?(KafkaRebalanceEvent(
                kind: lost ? .lost : .revoked, partitions: partitions, isIncremental: incremental))
            if incremental {
                consume(rd_kafka_incremental_unassign(handle, list), action: "incremental unassign")
            } else {
                check(rd_kafka_assign(handle, nil), action: "unassign")
            }
        default:
            // A failed rebalance: give everything up, as librdkafka's documentation prescribes.
            let failure = KafkaError.rdKafka(error, "rebalance failed")
            logger.warning("\(failure)")
            rebalanceHook?(KafkaRebalanceEvent(kind: .lost, partitions: partitions, isIncremental: incremental))
            check(rd_kafka_assign(handle, nil), action: "unassign")
        }
    }

    private func check(_ error: rd_kafka_resp_err_t, action: String) {
        if error != RD_KAFKA_RESP_ERR_NO_ERROR {
            report(.rdKafka(error, action))
        }
    }

    /// Takes ownership of an `rd_kafka_error_t` and frees it.
    private func consume(_ error: OpaquePointer?, action: String) {
        guard let error else { return }
        defer { rd_kafka_error_destroy(error) }
        let text = String(cString: rd_kafka_error_string(error))
        var failure = KafkaError.rdKafka(rd_kafka_error_code(error), action)
        failure.message = "\(action): \(text)"
        report(failure)
    }

    /// Hands a commit's outcome to the commit hook.
    func commitAnswered(_ error: rd_kafka_resp_err_t, _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, id: UInt64) {
        guard let commitHook else { return }
        let offsets = RDKafkaTopicPartitionList.entries(of: list)
        let failure: KafkaError? =
            switch error {
            case RD_KAFKA_RESP_ERR_NO_ERROR: RDKafkaTopicPartitionList.firstError(of: list)
            case RD_KAFKA_RESP_ERR__NO_OFFSET: nil  // nothing to commit is not a failure
            default: KafkaError.rdKafka(error, "commit failed")
            }
        commitHook(KafkaCommitResult(offsets: offsets, error: failure, id: id))
    }

    /// Hands an error to the hook, or logs it when there is none.
    func report(_ error: KafkaError) {
        if let errorHook {
            errorHook(error)
        } else {
            logger.warning("librdkafka error", metadata: ["kafka.error": "\(error)"])
        }
    }
}

// MARK: - C callbacks (file-scope, imported signatures; each only recovers the context and forwards)

private func logCallback(_ handle: OpaquePointer?, _ level: Int32, _ facility: UnsafePointer<CChar>?,
                         _ message: UnsafePointer<CChar>?) {
    guard let handle, let context = RDKafkaClientContext.from(rd_kafka_opaque(handle)) else { return }
    let swiftLevel: Logger.Level =
        switch level {
        case ...3: .error
        case 4: .warning
        case 5: .notice
        case 6: .info
        default: .debug
        }
    let text = message.map { String(cString: $0) } ?? ""
    context.logger.log(
        level: swiftLevel,
        "\(context.redactor.isEmpty ? text : context.redactor.redact(text))",
        metadata: ["rdkafka.facility": "\(facility.map { String(cString: $0) } ?? "")"]
    )
}

private func errorCallback(_ handle: OpaquePointer?, _ code: Int32, _ reason: UnsafePointer<CChar>?,
                           _ opaque: UnsafeMutableRawPointer?) {
    guard let context = RDKafkaClientContext.from(opaque) else { return }
    var error = KafkaError.rdKafka(rd_kafka_resp_err_t(code))
    if let reason { error.message = context.redactor.redact(String(cString: reason)) }
    if error.isFatal, let handle {
        // The original error behind _FATAL, with its text.
        var text = [CChar](repeating: 0, count: 512)
        let original = rd_kafka_fatal_error(handle, &text, text.count)
        error.message = "fatal: " + text.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        error.rdKafkaCode = Int32(original.rawValue)
        error.isFatal = true
    }
    context.report(error)
}

private func rebalanceCallback(_ handle: OpaquePointer?, _ error: rd_kafka_resp_err_t,
                               _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
                               _ opaque: UnsafeMutableRawPointer?) {
    guard let handle, let context = RDKafkaClientContext.from(opaque) else { return }
    context.rebalance(handle, error, list)
}

/// The outcome of librdkafka's automatic commits (installed only when they are on).
private func offsetCommitCallback(_ handle: OpaquePointer?, _ error: rd_kafka_resp_err_t,
                                  _ list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?,
                                  _ opaque: UnsafeMutableRawPointer?) {
    RDKafkaClientContext.from(opaque)?.commitAnswered(error, list, id: 0)
}
