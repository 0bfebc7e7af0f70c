import RelayGatewayCLI

await RelayGatewayCLI.main()
