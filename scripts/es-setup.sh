#!/bin/sh
# Creates the least-privilege role `brandguard_app` and the user `brandguard` that every
# brandguard service uses (the compose `es-setup` service runs it once; it is idempotent).
# Only this script uses the `elastic` superuser. See docs/elasticsearch.md for the privileges.
#
# Needs: ELASTIC_PASSWORD, BRANDGUARD_ES_PASSWORD; optional: ES_URL, BRANDGUARD_ES_INDEX_PREFIX.
set -eu
ES="${ES_URL:-http://elasticsearch:9200}"
PREFIX="${BRANDGUARD_ES_INDEX_PREFIX:-brandguard}"
for secret in "$ELASTIC_PASSWORD" "$BRANDGUARD_ES_PASSWORD"; do
  case "$secret" in
    *'"'*|*'\'*) echo "es-setup: ELASTIC_PASSWORD and BRANDGUARD_ES_PASSWORD must not contain \" or \\" >&2; exit 2 ;;
  esac
done
if [ "${#BRANDGUARD_ES_PASSWORD}" -lt 12 ]; then
  echo "es-setup: BRANDGUARD_ES_PASSWORD is shorter than 12 characters" >&2; exit 2
fi
# The superuser's credentials reach curl through a config on fd 3, never on the command line.
put() {
  curl -fsS -K /dev/fd/3 -X PUT "$ES/$1" -H 'Content-Type: application/json' --data-binary @- >/dev/null 3<<CFG <<JSON
user = "elastic:$ELASTIC_PASSWORD"
CFG
$2
JSON
}
put "_security/role/brandguard_app" '{
  "cluster": ["monitor", "manage_index_templates"],
  "indices": [{"names": ["'"$PREFIX"'*"],
               "privileges": ["read", "write", "create_index", "manage", "view_index_metadata", "delete_index"]}]
}'
put "_security/user/brandguard" '{"password": "'"$BRANDGUARD_ES_PASSWORD"'", "roles": ["brandguard_app"],
  "full_name": "brandguard services"}'
echo "es-setup: role brandguard_app and user brandguard are in place (indices ${PREFIX}*)"
