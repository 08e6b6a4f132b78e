// Mesh Compose configuration for the Hive Gateway comparison: the sandbox's UiPath, Dixa, Auco and WorkflowGen
// endpoints, described by the OpenAPI files beside this one. SANDBOX_URL is set by bench/run.py.
import { defineConfig } from '@graphql-mesh/compose-cli';
import { loadOpenAPISubgraph } from '@omnigraph/openapi';

const sandbox = process.env.SANDBOX_URL;
if (!sandbox) {
  throw new Error('SANDBOX_URL is not set');
}

export const composeConfig = defineConfig({
  subgraphs: [
    {
      sourceHandler: loadOpenAPISubgraph('UiPath', {
        source: './uipath.yaml',
        endpoint: `${sandbox}/uipath`,
        operationHeaders: { Authorization: 'Bearer sandbox-uipath-token' },
      }),
    },
    {
      sourceHandler: loadOpenAPISubgraph('Dixa', {
        source: './dixa.yaml',
        endpoint: `${sandbox}/dixa`,
        operationHeaders: { Authorization: 'sandbox-dixa-key' },
      }),
    },
    {
      sourceHandler: loadOpenAPISubgraph('Auco', {
        source: './auco.yaml',
        endpoint: `${sandbox}/auco`,
        operationHeaders: { Authorization: 'puk_sandbox' },
      }),
    },
    {
      sourceHandler: loadOpenAPISubgraph('WorkflowGen', {
        source: './workflowgen.yaml',
        endpoint: `${sandbox}/workflowgen`,
      }),
    },
  ],
  // Dixa's delivery statuses joined per subscription (one call each, as the gateway and the pass-through make):
  // what Mesh can join declaratively. Joining UiPath webhooks to their event types it cannot (no key lookup).
  additionalTypeDefs: /* GraphQL */ `
    extend type DixaSubscription {
      deliveryStatus: dixaDeliveryStatus_200_response
        @resolveTo(
          sourceName: "Dixa"
          sourceTypeName: "Query"
          sourceFieldName: "dixaDeliveryStatus"
          requiredSelectionSet: "{ id }"
          sourceArgs: { id: "{root.id}" }
        )
    }
  `,
});
