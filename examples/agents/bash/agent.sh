#!/usr/bin/env bash
# An evalkit example agent in bash (needs jq): blames the alerting component's first dependency.
#
# A deliberately naive investigator that shows the JSON-lines protocol (docs/agent-protocol.md) in a
# few lines: read `start`, ask for the topology around the alerting component, answer with `final`.
#   evalkit run --suite smoke --agent 'cmd:bash examples/agents/bash/agent.sh'
set -euo pipefail

read -r start
component=$(jq -r '.alert.component' <<<"$start")
echo "alert on ${component}" >&2

jq -cn --arg c "$component" '{type: "tool_call", id: 1, tool: "get_topology", args: {component: $c, depth: 1}}'
read -r reply
if [[ $(jq -r '.ok' <<<"$reply") != "true" ]]; then
  jq -cn --arg m "get_topology failed: $(jq -r '.error' <<<"$reply")" '{type: "error", message: $m}'
  exit 1
fi

suspect=$(jq -r --arg c "$component" \
  '[.result.edges[] | select(.source == $c and .relation == "calls") | .target] | sort | (.[0] // $c)' <<<"$reply")
echo "suspect: ${suspect}" >&2
jq -cn --arg s "$suspect" --arg c "$component" --argjson refs "$(jq -c '.refs' <<<"$reply")" \
  '{type: "final", finding: {hypotheses: [{component: $s, confidence: 0.5, evidence: $refs},
                                          {component: $c, confidence: 0.2, evidence: $refs}],
                             summary: "\($s) is the first dependency of \($c), which alerted"}}'
