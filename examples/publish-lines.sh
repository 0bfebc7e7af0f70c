#!/usr/bin/env bash
# Publish every line of stdin as one relay-gateway message.
#
#   tail -F /var/log/app.log | examples/publish-lines.sh -t logs
#   printf 'one\ntwo\n' | RELAY_PUBLISH_TOKEN=secret examples/publish-lines.sh -u http://127.0.0.1:9000/v1/publish
#
# Options (environment fallbacks in brackets):
#   -u URL      publish endpoint   [RELAY_PUBLISH_URL, default http://127.0.0.1:8000/publish]
#   -t TOPIC    topic              [RELAY_TOPIC, default cats]
#   -U USER_ID  address one user's clients only (integer; default: everyone on the topic)
#   -k TOKEN    bearer token       [RELAY_PUBLISH_TOKEN; default none; prefer the variable: argv shows in ps]
#
# Prints the gateway's answer for each line ({"recipients":N}). Stops at the first failed publish
# and exits 1 with the gateway's error JSON on stderr. Needs bash and curl.
set -euo pipefail

usage() {
    sed -n 's/^# \{0,1\}//; 2,14p' "$0" >&2
    exit 2
}

url=${RELAY_PUBLISH_URL:-http://127.0.0.1:8000/publish}
topic=${RELAY_TOPIC:-cats}
user_id=""
token=${RELAY_PUBLISH_TOKEN:-}

while getopts ':u:t:U:k:h' option; do
    case $option in
        u) url=$OPTARG ;;
        t) topic=$OPTARG ;;
        U) user_id=$OPTARG ;;
        k) token=$OPTARG ;;
        h) usage ;;
        :) echo "publish-lines: -$OPTARG needs a value" >&2; usage ;;
        *) echo "publish-lines: unknown option -$OPTARG" >&2; usage ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || { echo "publish-lines: unexpected argument: $1" >&2; usage; }
[[ -z $user_id || $user_id =~ ^[0-9]+$ ]] || { echo "publish-lines: -U needs an integer >= 0" >&2; exit 2; }
command -v curl >/dev/null || { echo "publish-lines: curl is not installed" >&2; exit 2; }

# Bytes, not characters: UTF-8 passes through unchanged, and no locale can split a sequence.
export LC_ALL=C

# json_string TEXT: TEXT as a JSON string literal, in the variable `json`.
json_string() {
    local text=$1 out="" char code i
    text=${text//\\/\\\\}
    text=${text//\"/\\\"}
    text=${text//$'\t'/\\t}
    text=${text//$'\r'/\\r}
    text=${text//$'\n'/\\n}
    text=${text//$'\b'/\\b}
    text=${text//$'\f'/\\f}
    # Any other control character (U+0000..U+001F, and DEL for good measure) becomes \u00XX.
    if [[ $text == *[$'\001'-$'\037'$'\177']* ]]; then
        for ((i = 0; i < ${#text}; i++)); do
            char=${text:i:1}
            if [[ $char == [$'\001'-$'\037'$'\177'] ]]; then
                printf -v code '%d' "'$char"
                printf -v char '\\u%04x' "$code"
            fi
            out+=$char
        done
        text=$out
    fi
    json="\"$text\""
}

json_string "$topic"
topic_json=$json
user_json=""
[[ -z $user_id ]] || user_json=", \"user_id\": $user_id"

# The token reaches curl as a config line on fd 3, never in argv (argv is visible in ps).
auth_config=""
if [[ -n $token ]]; then
    escaped=${token//\\/\\\\}
    escaped=${escaped//\"/\\\"}
    auth_config="header = \"Authorization: Bearer $escaped\""
fi

answer_file=$(mktemp)
trap 'rm -f "$answer_file"' EXIT

count=0
while IFS= read -r line || [[ -n $line ]]; do
    json_string "$line"
    body="{\"topic\": $topic_json$user_json, \"message\": $json}"
    # The body goes through stdin (--data-binary @-), so long lines never hit argv limits.
    if ! status=$(printf '%s' "$body" | curl -sS -o "$answer_file" -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' -K /dev/fd/3 --data-binary @- "$url" 3<<<"$auth_config"); then
        echo "publish-lines: line $((count + 1)): no answer from $url" >&2
        exit 1
    fi
    if [[ $status != 2?? ]]; then
        echo "publish-lines: line $((count + 1)): HTTP $status: $(cat "$answer_file")" >&2
        exit 1
    fi
    cat "$answer_file"
    echo
    count=$((count + 1))
done
