#!/usr/bin/env bash
# Builds examples/consumer-template, a package of its own that depends on this checkout by path,
# with every warning as an error, and runs its test (the handler against an embedded broker): the
# README's "Build your own consumer" cannot rot. Also checks that it does not build swift-crypto,
# which only the `sluice` executable's demo handlers need.
set -euo pipefail
cd "$(dirname "$0")/.."
# A path dependency may use unsafeFlags, a versioned one may not: SwiftPM would refuse Sluice as a
# dependency by URL, which this path build cannot see.
if grep -n 'unsafeFlags' Package.swift; then
    echo "error: Package.swift uses unsafeFlags: applications could not depend on Sluice by URL" >&2
    exit 1
fi
cd examples/consumer-template
swift build --build-tests \
    -Xswiftc -warnings-as-errors \
    --explicit-target-dependency-import-check error
# SwiftPM may lay out folders for every target of the graph; objects show what was compiled.
if find .build/debug/ -path '*Crypto*.build/*' -name '*.o' | grep -q .; then
    echo "error: the template built swift-crypto: a product it links depends on it again (see SluiceDemoHandlers)" >&2
    exit 1
fi
swift test --skip-build
