import RelayGatewayCLI
import WebhookPlugins

await RelayGatewayCLI.main(adding: WebhookPlugins.all)
