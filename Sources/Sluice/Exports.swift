//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

// Handlers see `KafkaMessage`, tests use `EmbeddedBroker`: `import Sluice` brings the Kafka layer's
// public types along, so an application needs one import.
@_exported public import SluiceKafka
