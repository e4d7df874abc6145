#!/usr/bin/env bash
# CI gate for a central schema repository: one JSON Schema file per event type,
# named <EventType>.json. Connection settings come from the usual libpq
# environment (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD / PGSERVICE).
#
#   check_schemas.sh [DIR]              dry run (nova.check_schema): exit 1 when any
#                                       file would break its event type's compatibility
#   check_schemas.sh --register [DIR]   register every file (deploy step); an event
#                                       type's first version uses $NOVA_SCHEMA_COMPATIBILITY
#                                       (default BACKWARD); unchanged files keep their version
#
# The check role needs EXECUTE on nova.check_schema (granted to nova_service);
# --register needs the extension owner or a role granted nova.register_schema.
set -euo pipefail

mode=check
if [ "${1:-}" = "--register" ]; then mode=register; shift; fi
dir="${1:-$(dirname "$0")}"
compat="${NOVA_SCHEMA_COMPATIBILITY:-BACKWARD}"
psql_q() { psql -X -q -At -v ON_ERROR_STOP=1 -F ' | ' "$@"; }

status=0
shopt -s nullglob
files=("$dir"/*.json)
[ ${#files[@]} -gt 0 ] || { echo "no schema files in $dir" >&2; exit 2; }
for f in "${files[@]}"; do
  event_type="$(basename "$f" .json)"
  if [ "$mode" = check ]; then
    if ! out="$(psql_q -v event_type="$event_type" -v schema="$(cat "$f")" 2>&1 <<'SQL'
SELECT path, change, message FROM nova.check_schema(:'event_type', :'schema'::jsonb);
SQL
)"; then
      echo "ERROR  $event_type: $out"; status=1
    elif [ -n "$out" ]; then
      echo "BREAKS $event_type:"; echo "$out" | sed 's/^/    /'; status=1
    else
      echo "ok     $event_type"
    fi
  else
    if ! version="$(psql_q -v event_type="$event_type" -v schema="$(cat "$f")" -v compat="$compat" 2>&1 <<'SQL'
SELECT nova.register_schema(:'event_type', :'schema'::jsonb,
         coalesce((SELECT compatibility FROM nova.event_schemas WHERE event_type = :'event_type'
                   ORDER BY version DESC LIMIT 1), :'compat'));
SQL
)"; then
      echo "ERROR  $event_type: $version"; status=1
    else
      echo "ok     $event_type version $version"
    fi
  fi
done
exit $status
