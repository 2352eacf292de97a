//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

// The generic `sluice` executable: the built-in handlers, the demo handlers (`sha256`,
// `score-orders`), and the whole runner CLI. An application of your own is the same lines with
// its own handlers registered.
import SluiceCLI
import SluiceDemoHandlers

var handlers = HandlerRegistry.builtIn
handlers.registerDemoHandlers()
await SluiceApp(handlers: handlers).main()
