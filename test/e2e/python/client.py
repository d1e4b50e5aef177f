#!/usr/bin/python3
"""A Python gRPC client for Tessera: what a polyglot user writes from proto/ alone.

Generate the stubs from the repository's .proto files first (Debian:
`apt-get install python3-grpcio python3-grpc-tools`). Do not call the output folder
`grpc`: it would shadow the real grpc module.

    /usr/bin/python3 -m grpc_tools.protoc -I proto \\
        --python_out=stubs --grpc_python_out=stubs \\
        tessera/v1/token_service.proto tessera/v1/client_admin.proto \\
        google/rpc/status.proto google/rpc/error_details.proto

Then:

    TESSERA_STUBS=stubs TESSERA_ADDR=127.0.0.1:8080 \\
    TESSERA_CLIENT_ID=... TESSERA_CLIENT_SECRET=... \\
        /usr/bin/python3 client.py token --scope read

Modes (each prints exactly one JSON line on stdout):

    token         IssueToken with client_id / client_secret in the request fields
    token-basic   IssueToken with `authorization: Basic ...` metadata instead
    wrong-secret  IssueToken with a wrong secret; prints the status code name and the
                  OAuth error code from the google.rpc.ErrorInfo in the status details
    admin         gets a token with scope tessera:admin, then CreateClient, GetClient,
                  ListClients and RotateClientSecret with `authorization: Bearer <token>`

Every setting can come from the environment (TESSERA_*) or from the command line.
"""

import argparse
import base64
import json
import os
import sys
import urllib.parse

TIMEOUT_SECONDS = 10


def parse_args():
    p = argparse.ArgumentParser(description="Tessera gRPC client example")
    p.add_argument("mode", choices=["token", "token-basic", "wrong-secret", "admin"])
    p.add_argument("--addr", default=os.environ.get("TESSERA_ADDR", "127.0.0.1:8080"),
                   help="host:port of the Tessera server (cleartext HTTP/2)")
    p.add_argument("--client-id", default=os.environ.get("TESSERA_CLIENT_ID", ""))
    p.add_argument("--client-secret", default=os.environ.get("TESSERA_CLIENT_SECRET", ""))
    p.add_argument("--scope", default="", help="space-separated scopes to request")
    p.add_argument("--audience", action="append", default=[], help="audience to request (repeatable)")
    p.add_argument("--stubs", default=os.environ.get("TESSERA_STUBS", ""),
                   help="folder holding the generated *_pb2.py modules")
    p.add_argument("--new-client-name", default="python-created",
                   help="admin mode: name of the client to create")
    return p.parse_args()


def main():
    args = parse_args()
    if args.stubs:
        sys.path.insert(0, args.stubs)
    # Imported here, after the stubs folder is on sys.path.
    import grpc

    with grpc.insecure_channel(args.addr) as channel:
        if args.mode == "token":
            result = issue_token(channel, args.client_id, args.client_secret, args.scope, args.audience)
        elif args.mode == "token-basic":
            result = issue_token_basic(channel, args.client_id, args.client_secret, args.scope, args.audience)
        elif args.mode == "wrong-secret":
            result = wrong_secret(channel, args.client_id)
        else:
            result = admin(channel, args.client_id, args.client_secret, args.new_client_name)
    print(json.dumps(result, sort_keys=True))


def to_dict(message):
    """A message as JSON-ready dict, with the .proto field names (client_id, not clientId)."""
    from google.protobuf import json_format

    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def issue_token(channel, client_id, client_secret, scope, audience):
    """IssueToken with the credentials in the request fields."""
    from tessera.v1 import token_service_pb2, token_service_pb2_grpc

    stub = token_service_pb2_grpc.TokenServiceStub(channel)
    request = token_service_pb2.IssueTokenRequest(
        client_id=client_id, client_secret=client_secret, scope=scope, audience=audience)
    return to_dict(stub.IssueToken(request, timeout=TIMEOUT_SECONDS))


def basic_credentials(client_id, client_secret):
    """`Basic` value as RFC 6749 §2.3.1 asks: form-urlencode id and secret, then base64."""
    pair = urllib.parse.quote_plus(client_id) + ":" + urllib.parse.quote_plus(client_secret)
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


def issue_token_basic(channel, client_id, client_secret, scope, audience):
    """IssueToken with the credentials in `authorization` metadata; the fields stay empty."""
    from tessera.v1 import token_service_pb2, token_service_pb2_grpc

    stub = token_service_pb2_grpc.TokenServiceStub(channel)
    request = token_service_pb2.IssueTokenRequest(scope=scope, audience=audience)
    metadata = [("authorization", basic_credentials(client_id, client_secret))]
    return to_dict(stub.IssueToken(request, metadata=metadata, timeout=TIMEOUT_SECONDS))


def error_reason(rpc_error):
    """The google.rpc.ErrorInfo reason carried in the `grpc-status-details-bin` trailer.

    The trailer is a serialized google.rpc.Status whose `details` are Any messages; Tessera
    puts the OAuth error code (e.g. "invalid_client") in an ErrorInfo's `reason`.
    """
    from google.rpc import error_details_pb2, status_pb2

    for key, value in rpc_error.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                return {"reason": info.reason, "domain": info.domain, "status_code": status.code}
    return {"reason": None, "domain": None, "status_code": None}


def wrong_secret(channel, client_id):
    """IssueToken with a secret that is certainly wrong; reports how the server refused."""
    import grpc
    from tessera.v1 import token_service_pb2, token_service_pb2_grpc

    stub = token_service_pb2_grpc.TokenServiceStub(channel)
    request = token_service_pb2.IssueTokenRequest(client_id=client_id, client_secret="tsec_not-the-secret")
    try:
        stub.IssueToken(request, timeout=TIMEOUT_SECONDS)
    except grpc.RpcError as e:
        return {"code": e.code().name, "details": e.details(), **error_reason(e)}
    raise SystemExit("IssueToken with a wrong secret unexpectedly succeeded")


def admin(channel, client_id, client_secret, new_client_name):
    """Manages clients with ClientAdmin, authenticated by a tessera:admin access token."""
    from google.protobuf import duration_pb2
    from tessera.v1 import client_admin_pb2, client_admin_pb2_grpc

    token = issue_token(channel, client_id, client_secret, "tessera:admin", [])
    bearer = [("authorization", "Bearer " + token["access_token"])]
    stub = client_admin_pb2_grpc.ClientAdminStub(channel)

    created = stub.CreateClient(
        client_admin_pb2.CreateClientRequest(
            name=new_client_name,
            scopes=["read", "write"],
            audiences=["https://api.example.com"],
            token_ttl=duration_pb2.Duration(seconds=600),
        ),
        metadata=bearer, timeout=TIMEOUT_SECONDS)
    new_id = created.client.client_id

    got = stub.GetClient(client_admin_pb2.GetClientRequest(client_id=new_id),
                         metadata=bearer, timeout=TIMEOUT_SECONDS)
    listed = stub.ListClients(client_admin_pb2.ListClientsRequest(page_size=1000),
                              metadata=bearer, timeout=TIMEOUT_SECONDS)
    # The first secret keeps working for an hour after the rotation.
    rotated = stub.RotateClientSecret(
        client_admin_pb2.RotateClientSecretRequest(
            client_id=new_id, grace_period=duration_pb2.Duration(seconds=3600)),
        metadata=bearer, timeout=TIMEOUT_SECONDS)

    return {
        "admin_token_scope": token["scope"],
        "create": to_dict(created),
        "get": to_dict(got),
        "list": to_dict(listed),
        "rotate": to_dict(rotated),
    }


if __name__ == "__main__":
    main()
