//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

/// An error that retrying cannot fix, such as a payload that does not decode: the failure policy
/// applies at once, without the remaining attempts of the ``RetryPolicy``.
///
/// ```swift
/// struct InvalidOrder: NonRetryableError { let reason: String }
/// ```
public protocol NonRetryableError: Error {}
