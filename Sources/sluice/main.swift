//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

// The generic `sluice` executable: the built-in handlers plus the whole runner CLI.
// An application of your own is the same three lines with its own handlers registered.
import SluiceCLI

await SluiceApp(handlers: .builtIn).main()
