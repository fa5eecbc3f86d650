#!/usr/bin/env python3
"""CloudWatch Smithy RPC v2 CBOR front end for moto.

aws-sdk-cloudwatch >= 1.100 (Rust) speaks only Smithy RPC v2 CBOR; moto 5.2.5 speaks CloudWatch's Query and
JSON protocols only. This server accepts `POST /service/GraniteServiceVersion20100801/operation/<Op>`
(un-gzipping `Content-Encoding: gzip` bodies), decodes the CBOR with botocore's parser, replays the call with
boto3 against moto, and re-encodes the reply with botocore's CBOR serializer. Errors are rpc-v2-cbor errors
(`__type` + `message`, plus the `x-amzn-query-error` header of the awsQueryCompatible trait). Any other request
is forwarded to moto unchanged, so Query/JSON clients can share the endpoint.

Run with moto's venv python (started by `cargo xtask emulators up`):
    python cloudwatch_cbor_shim.py --port 4582 --moto http://127.0.0.1:4566
"""
import argparse
import gzip
import http.client
import re
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import botocore.session
from botocore import xform_name
from botocore.exceptions import ClientError, ParamValidationError
from botocore.model import DenormalizedStructureBuilder, OperationNotFoundError
from botocore.parsers import RpcV2CBORParser
from botocore.serialize import RpcV2CBORSerializer

PREFIX = "/service/GraniteServiceVersion20100801/operation/"
NAMESPACE = "com.amazonaws.cloudwatch#"
MODEL = botocore.session.get_session().get_service_model("cloudwatch")
PARSER, SERIALIZER = RpcV2CBORParser(), RpcV2CBORSerializer()
ERROR_BODY = DenormalizedStructureBuilder().with_members(
    {"__type": {"type": "string"}, "message": {"type": "string"}}).build_model()
# Query error code (what moto reports) -> modeled error shape name (what `__type` carries).
ERROR_SHAPES = {}
for _shape in MODEL.error_shapes:
    if _shape.error_code not in ERROR_SHAPES or _shape.name == _shape.error_code:
        ERROR_SHAPES[_shape.error_code] = _shape.name
CLIENTS, LOCK, ARGS = {}, threading.Lock(), None


def client_for(region):
    with LOCK:
        if region not in CLIENTS:
            CLIENTS[region] = boto3.client(
                "cloudwatch", endpoint_url=ARGS.moto, region_name=region,
                aws_access_key_id="test", aws_secret_access_key="test")
        return CLIENTS[region]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            body = b""
            while (size := int(self.rfile.readline().split(b";")[0], 16)) > 0:
                body += self.rfile.read(size)
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return body
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def send(self, status, body, headers):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_cbor(self, status, body, extra=()):
        self.send(status, body, [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
                                 ("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000"), *extra])

    def send_error_cbor(self, status, code, message):
        shape = ERROR_SHAPES.get(code, code)
        body = bytearray()
        SERIALIZER._serialize_data_item(body, {"__type": NAMESPACE + shape, "message": message or code}, ERROR_BODY)
        fault = "Sender" if status < 500 else "Receiver"
        self.send_cbor(status, bytes(body), [("x-amzn-query-error", f"{code};{fault}")])

    def forward(self, body):
        url = urllib.parse.urlsplit(ARGS.moto)
        conn = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "transfer-encoding")}
        headers["Content-Length"] = str(len(body))
        conn.request(self.command, self.path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        skip = ("content-length", "transfer-encoding", "connection", "server", "date")
        self.send(resp.status, data, [(k, v) for k, v in resp.getheaders() if k.lower() not in skip])
        conn.close()

    def do_GET(self):
        self.forward(self.read_body())

    def do_POST(self):
        body = self.read_body()
        if not self.path.startswith(PREFIX):
            return self.forward(body)
        try:
            op = MODEL.operation_model(self.path[len(PREFIX):].split("?")[0])
        except OperationNotFoundError:
            return self.send_error_cbor(404, "UnknownOperationException", f"unknown operation {self.path}")
        try:
            if (self.headers.get("Content-Encoding") or "").lower() == "gzip":
                body = gzip.decompress(body)
            params = {}
            if body and op.input_shape is not None:
                params = PARSER.parse({"status_code": 200, "headers": {}, "body": body}, op.input_shape)
                params.pop("ResponseMetadata", None)
            match = re.search(r"Credential=[^/]*/[^/]*/([^/]+)/", self.headers.get("Authorization") or "")
            result = getattr(client_for(match.group(1) if match else "us-east-1"), xform_name(op.name))(**params)
        except ClientError as err:
            error = err.response.get("Error", {})
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 400)
            return self.send_error_cbor(status, error.get("Code") or "InternalServiceError", error.get("Message"))
        except ParamValidationError as err:
            return self.send_error_cbor(400, "InvalidParameterValue", str(err))
        except Exception as err:  # noqa: BLE001 - report anything else as a server fault
            return self.send_error_cbor(500, "InternalServiceError", f"{type(err).__name__}: {err}")
        result.pop("ResponseMetadata", None)
        out = bytearray(b"\xa0")
        if op.output_shape is not None:
            out = bytearray()
            SERIALIZER._serialize_data_item(out, result, op.output_shape)
        self.send_cbor(200, bytes(out))


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4582)
    parser.add_argument("--moto", default="http://127.0.0.1:4566", help="moto_server base URL")
    ARGS = parser.parse_args()
    ThreadingHTTPServer.daemon_threads, ThreadingHTTPServer.request_queue_size = True, 128
    server = ThreadingHTTPServer((ARGS.host, ARGS.port), Handler)
    print(f"cloudwatch CBOR shim on http://{ARGS.host}:{ARGS.port} -> {ARGS.moto}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
