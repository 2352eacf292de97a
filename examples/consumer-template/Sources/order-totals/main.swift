// The consumer process: register your handlers and hand over to the runner, which provides the
// whole `sluice` command line (`run`, `produce`, `dev-broker`, …), configuration from SLUICE_*
// environment variables, signals, metrics and health.
//
//   swift run order-totals run --brokers kafka:9092 --group totals --topic orders --handler order-totals

import OrderTotals
import SluiceCLI

var handlers = HandlerRegistry.builtIn
handlers.register("order-totals", summary: "adds up JSON order events") { _ in
    .sync(OrderTotalsHandler())
}
await SluiceApp(handlers: handlers).main()
