// Placeholder until the example is written.
import SluiceCLI

await SluiceApp(handlers: .builtIn).main()
