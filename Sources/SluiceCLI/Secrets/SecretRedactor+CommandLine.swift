//===----------------------------------------------------------------------===//
//
// This source file is part of the Sluice open source project.
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

internal import Sluice

extension SecretRedactor {
    /// The secrets a command line (environment variables applied) carries: the values of sensitive
    /// librdkafka properties (`-X`, `--kafka-property`) and of secret handler options
    /// (`--handler-option`, and `--route-option ROUTE:key=value`; ``HandlerOptions/isSecret(_:)``).
    ///
    /// Read from the raw arguments, so that it is known before parsing, whose errors it masks too.
    init(commandLine arguments: [String]) {
        self.init()
        for (option, isSecret) in [
            ("kafka-property", KafkaConfiguration.isSensitive), ("handler-option", HandlerOptions.isSecret),
        ] as [(String, (String) -> Bool)] {
            for (key, value) in keyValueArguments(givenTo: option, in: arguments) where isSecret(key) {
                self.insert(value)
            }
        }
        for (routeAndKey, value) in keyValueArguments(givenTo: "route-option", in: arguments)
        where HandlerOptions.isSecret(RouteOption.handlerOptionKey(of: routeAndKey)) {
            self.insert(value)
        }
    }
}
