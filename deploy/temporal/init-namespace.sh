#!/bin/sh
# One-shot (temporalio/admin-tools), after the server is up: creates the namespace Kaiban uses and
# registers Kaiban's custom search attributes in it (the list is infra/search-attributes.ts;
# test/docker-compose.test.ts keeps the two equal). Safe to re-run.
set -eu

: "${TEMPORAL_ADDRESS:?}"
NAMESPACE="${TEMPORAL_NAMESPACE:-default}"

until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  echo "waiting for Temporal at $TEMPORAL_ADDRESS"
  sleep 2
done

# How long a closed application (its status, results and dossier) stays readable: 10 years unless told otherwise.
RETENTION="${TEMPORAL_RETENTION:-87600h}"
if temporal operator namespace describe --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; then
  temporal operator namespace update --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" --retention "$RETENTION"
else
  temporal operator namespace create --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" --retention "$RETENTION"
fi

# An attribute that exists with the same type is accepted again; one with another type fails the job.
temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE" \
  --name KaibanStatus --type Keyword \
  --name KaibanDistrict --type Keyword \
  --name KaibanSlaLevel --type Keyword \
  --name KaibanDueAt --type Datetime \
  --name KaibanPendingTask --type KeywordList \
  --name KaibanCompanyName --type Text \
  --name KaibanBreached --type KeywordList \
  --name KaibanOwner --type Keyword

temporal operator search-attribute list --address "$TEMPORAL_ADDRESS" --namespace "$NAMESPACE"
echo "namespace $NAMESPACE ready"
