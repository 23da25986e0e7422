"""Reads every AIP-193 answer of the demo (one JSON body a line, written by
`tests/demo.rs::every_answer_in_every_shape_is_valid_against_its_schema`) as a `google.rpc.Status`
with the `googleapis-common-protos` definitions, as a Google client library would: unknown fields
are errors, each detail's `@type` must resolve, and the details must say what AIP-193 asks
(`status` a `google.rpc.Code` name, `ErrorInfo` first, with an UPPER_SNAKE_CASE reason and a domain; `RetryInfo` a whole number of
seconds; `BadRequest` field violations with a description).

    python3 .ci/aip193_status.py FILE
"""

import json
import re
import sys

from google.protobuf import json_format
from google.rpc import code_pb2, error_details_pb2, status_pb2

failures = []
count = 0
with open(sys.argv[1], encoding="utf-8") as answers:
    for line in answers:
        line = line.strip()
        if not line:
            continue
        count += 1
        body = json.loads(line)
        # The body is `{"error": Status}` with, as AIP-193 shows it over HTTP, the google.rpc.Code
        # of the status by name beside the Status' own fields.
        error = dict(body["error"])
        code_name = error.pop("status", None)
        status = status_pb2.Status()
        try:
            json_format.Parse(json.dumps(error), status, ignore_unknown_fields=False)
        except json_format.ParseError as e:
            failures.append(f"{line}: {e}")
            continue
        problems = []
        if code_name not in code_pb2.Code.keys():
            problems.append(f"status {code_name!r} is not a google.rpc.Code")
        infos = []
        for detail in status.details:
            for kind in (error_details_pb2.ErrorInfo, error_details_pb2.RetryInfo,
                         error_details_pb2.BadRequest, error_details_pb2.RequestInfo):
                if detail.Is(kind.DESCRIPTOR):
                    message = kind()
                    detail.Unpack(message)
                    break
            else:
                problems.append(f"unexpected detail {detail.type_url}")
                continue
            if isinstance(message, error_details_pb2.ErrorInfo):
                infos.append(message)
                if not re.fullmatch(r"[A-Z][A-Z0-9_]+[A-Z0-9]", message.reason) or len(message.reason) > 63:
                    problems.append(f"reason {message.reason!r}")
                if not message.domain:
                    problems.append("no domain")
            elif isinstance(message, error_details_pb2.RetryInfo):
                if message.retry_delay.seconds < 1 or message.retry_delay.nanos:
                    problems.append(f"retryDelay {message.retry_delay}")
            elif isinstance(message, error_details_pb2.BadRequest):
                if not all(v.description for v in message.field_violations):
                    problems.append("a field violation without a description")
        if len(infos) != 1 or not status.details[0].Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            problems.append("ErrorInfo is not the first and only one")
        if status.code != body["error"]["code"]:
            problems.append("code")
        failures.extend(f"{line}: {p}" for p in problems)

print(f"{count} AIP-193 answers read as google.rpc.Status, {len(failures)} failed")
for failure in failures:
    print(f"FAIL {failure}")
sys.exit(1 if failures or count == 0 else 0)
