/**
 * GET /fhir/metadata: a CapabilityStatement of exactly what the gateway's PAS server supports — the two PAS
 * operations on Claim, Subscription create/read for the PAS topic (rest-hook), JSON only, bearer tokens. Nothing
 * is claimed that is not served.
 */
import type { CapabilityStatement } from '@medplum/fhirtypes';

const PAS = 'http://hl7.org/fhir/us/davinci-pas';

export function capabilityStatement(at: Date): CapabilityStatement {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: at.toISOString().slice(0, 10),
    publisher: 'PA Gateway',
    kind: 'instance',
    implementation: {
      description: 'PA Gateway: Da Vinci PAS intermediary (payers reached over PAS, X12 278 or portal)',
    },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    implementationGuide: [`${PAS}/ImplementationGuide/hl7.fhir.us.davinci-pas|2.2.1`],
    rest: [
      {
        mode: 'server',
        documentation:
          "Every request needs a bearer token (API token with role ehr); the tenant is the token's.",
        security: {
          service: [
            {
              coding: [
                { system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'OAuth' },
              ],
              text: 'Bearer API tokens',
            },
          ],
        },
        resource: [
          {
            type: 'Claim',
            supportedProfile: [
              `${PAS}/StructureDefinition/profile-claim`,
              `${PAS}/StructureDefinition/profile-claim-inquiry`,
            ],
            operation: [
              { name: 'submit', definition: `${PAS}/OperationDefinition/Claim-submit` },
              { name: 'inquire', definition: `${PAS}/OperationDefinition/Claim-inquiry` },
            ],
          },
          {
            type: 'Subscription',
            supportedProfile: [`${PAS}/StructureDefinition/profile-subscription`],
            interaction: [{ code: 'create' }, { code: 'read' }],
            documentation:
              'Rest-hook subscriptions to the PAS topic (R4 Subscriptions Backport); filter orgIdentifier; payload id-only or full-resource.',
          },
        ],
      },
    ],
  };
}
