"""A finding's story as a bash script that reproduces it when pasted: keys from the
environment, IDs captured from the answers that assign them, a polling loop for each wait,
the uploads' bytes inline, and the evidence requests shown with their answers' headers.
"""

from __future__ import annotations

import base64
import re
import shlex
import textwrap

from conformance.resources.media import sample_video, undecodable_bytes
from conformance.run.story import Step, Story

__all__ = ["KEY_VARIABLES", "reproduction_script", "shell_word"]

KEY_VARIABLES = {"primary": "TWELVELABS_API_KEY", "other": "TWELVELABS_API_KEY",
                 "second": "TWELVELABS_SECOND_API_KEY"}
INVALID_KEY = "not-a-valid-key"
"""What a request with an invalid key sends (the run's own invalid key is never kept)."""
_VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")
_FILENAME = re.compile(r"[^A-Za-z0-9._-]")

_PREAMBLE = r"""
set -eu
WORK="$(mktemp -d)"
trap 'tidy; rm -rf "$WORK"' EXIT
PYTHON="${PYTHON:-python3}"

quietly_delete() {  # quietly_delete URL: cleanup; says only what stays
  local code
  code="$(curl -sS --path-as-is -o /dev/null -w '%{http_code}' -X DELETE "$1" \
    -H "x-api-key: $TWELVELABS_API_KEY" || true)"
  case "$code" in
    2*|404) ;;
    *) echo "cleanup: DELETE $1 answered $code: it stays (set KEEP=1 to keep all)" >&2;;
  esac
}

call() {  # call CURL-ARGUMENTS...: headers to $WORK/headers, body to $WORK/body; a 429 waits
  local try=0 code wait
  while :; do
    code="$(curl -sS --path-as-is -D "$WORK/headers" -o "$WORK/body" -w '%{http_code}' "$@")"
    [ "$code" = 429 ] && [ "$try" -lt 5 ] || break
    wait="$(sed -n 's/^[Rr]etry-[Aa]fter: *\([0-9][0-9]*\).*/\1/p' "$WORK/headers")"
    try=$((try + 1))
    sleep "${wait:-$((2 * try))}"
  done
  printf '%s' "$code"
}

send() {  # send LABEL CURL-ARGUMENTS...: a set-up step
  local label="$1"
  shift
  printf '%s -> %s\n' "$label" "$(call "$@")" >&2
}

show() {  # show LABEL CURL-ARGUMENTS...: an answer the finding rests on, headers and body
  echo "== $1"
  shift
  call "$@" > /dev/null
  tr -d '\r' < "$WORK/headers"
  cat "$WORK/body"
  echo
}

field() {  # field NAME: a string field of the last answer's JSON body ('' if none)
  "$PYTHON" -c 'import json, sys
try:
    value = json.load(open(sys.argv[1])).get(sys.argv[2])
except Exception:
    value = None
print(value if isinstance(value, str) else "")' "$WORK/body" "$1"
}

need() {  # need VALUE WHAT: stop when a set-up answer did not give what later steps need
  [ -n "$1" ] || { echo "cannot reproduce: $2" >&2; cat "$WORK/body" >&2; exit 3; }
}

wait_for() {  # wait_for TASK STATUS: poll the task until it shows STATUS
  local deadline=$((SECONDS + ${CONFORMANCE_WAIT_TIMEOUT:-600})) status
  while :; do
    curl -sS --path-as-is -o "$WORK/body" "$BASE/tasks/$1" -H "x-api-key: $TWELVELABS_API_KEY"
    status="$(field status)"
    [ "$status" = "$2" ] && { echo "task $1 is $2" >&2; return 0; }
    case "$status" in
      ready|failed) echo "cannot reproduce: task $1 is $status, the run saw it $2" >&2; exit 3;;
    esac
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "cannot reproduce: task $1 never showed $2" >&2; exit 3
    fi
    sleep 1
  done
}
"""


def shell_word(template: str) -> str:
    """A template (``${BASE}/tasks/${TASK_1}``) as one shell word: literals quoted, the
    variables expanded."""
    parts: list[str] = []
    cursor = 0
    for match in _VARIABLE.finditer(template):
        if match.start() > cursor:
            parts.append(shlex.quote(template[cursor:match.start()]))
        parts.append(f'"${{{match.group(1)}}}"')
        cursor = match.end()
    if cursor < len(template) or not parts:
        parts.append(shlex.quote(template[cursor:]))
    return "".join(parts)


def reproduction_script(story: Story, *, title: str, judged: str) -> str:
    """The bash script of ``story``; ``title`` and ``judged`` head it as comments."""
    keys = sorted({KEY_VARIABLES[k] for k in story.keys if k in KEY_VARIABLES})
    lines = ["#!/usr/bin/env bash", *_comment(title),
             f"# Needs curl and python3, and {' and '.join('$' + k for k in keys) or 'no key'}"
             " set; the target is $TWELVELABS_BASE_URL,", f"# else the run's: {story.base_url}",
             *(f': "${{{k}:?set {k}}}"' for k in keys),
             f'BASE="${{TWELVELABS_BASE_URL:-{story.base_url}}}"', _PREAMBLE.strip("\n")]
    contents = {f[2] for s in story.steps for f in s.files}
    for content, data in (("sample", sample_video()), ("undecodable", undecodable_bytes())):
        if content in contents or (content == "sample" and "unknown" in contents):
            encoded = "\n".join(textwrap.wrap(base64.b64encode(data).decode(), 76))
            lines += [f'base64 -d > "$WORK/{content}.bin" <<\'EOF\'', encoded, "EOF"]
    lines += ["", *_tidy(story)]
    for number, step in enumerate(story.steps, 1):
        lines += ["", *_step_lines(number, step)]
    lines += ["", *(f"echo {shlex.quote(line)}" for line in
                    _comment(f"The run judged: {judged}"))]
    return "\n".join(lines) + "\n"


def _tidy(story: Story) -> list[str]:
    """The function that deletes what the script created (unless KEEP is set): videos,
    then tasks, then indexes, each only once its ID was captured."""
    found: dict[str, list[str]] = {"VIDEO": [], "TASK": [], "INDEX": []}
    for step in story.steps:
        index = next((v for n, v in step.form if n == "index_id"), None)
        for variable in step.captures:
            kind, name = variable.split("_")[0], "${" + variable + "}"
            url = {"INDEX": f"${{BASE}}/indexes/{name}", "TASK": f"${{BASE}}/tasks/{name}",
                   "VIDEO": None if index is None else
                   f"${{BASE}}/indexes/{index}/videos/{name}"}.get(kind)
            if url is not None:
                found[kind].append(f'  [ -z "{name[:-1]}:-}}" ] || quietly_delete '
                                   f"{shell_word(url)}")
    return ["tidy() {  # what this script created goes again, unless KEEP is set",
            '  [ -z "${KEEP:-}" ] || return 0', *found["VIDEO"], *found["TASK"],
            *found["INDEX"], "  return 0", "}"]


def _comment(text: str) -> list[str]:
    return ["# " + line for line in textwrap.wrap(text, 92) or [""]]


def _step_lines(number: int, step: Step) -> list[str]:
    if step.kind == "wait":
        return [f"# {number}. {step.note}", f"wait_for {shell_word(step.task)} "
                f"{shlex.quote(step.status)}"]
    args = curl_arguments(step)
    label = f"{number}. {step.method} {step.url}"
    if step.role == "evidence":
        return [f"# {number}. evidence: {step.note}", f"show {shlex.quote(label)} "
                + " ".join(args)]
    lines = [f"# {number}. {step.note}", f"send {shlex.quote(label)} " + " ".join(args)]
    for variable, name in step.captures.items():
        lines += [f"{variable}=\"$(field {name})\"",
                  f'need "${{{variable}}}" {shlex.quote(f"step {number} gave no {name}")}']
    return lines


def curl_arguments(step: Step) -> list[str]:
    """The curl arguments (shell words) that send ``step``'s request."""
    args = ["-X", step.method, shell_word(step.url)]
    if step.key in KEY_VARIABLES:
        args += ["-H", f'"x-api-key: ${{{KEY_VARIABLES[step.key]}}}"']
    elif step.key == "invalid":
        args += ["-H", shlex.quote(f"x-api-key: {INVALID_KEY}")]
    for name, value in step.headers:
        args += ["-H", shell_word(f"{name}: {value}")]
    for name, value in step.form:
        args += ["--form-string", shell_word(f"{name}={value}")]
    for name, filename, content in step.files:
        source = "sample" if content == "unknown" else content
        safe = _FILENAME.sub("_", filename) or "upload.bin"
        args += ["-F", f'"{_FILENAME.sub("_", name)}=@$WORK/{source}.bin;filename={safe}"']
    if step.json_body:
        args += ["-H", shlex.quote("content-type: application/json")]
    if step.body is not None:
        args += ["--data-raw", shell_word(step.body)]
    return args
