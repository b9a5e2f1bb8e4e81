#!/usr/bin/env python3
"""Queue a SET into a setpoll table from Python: sign it with the producer's own key, put it with boto3.

The item follows docs/schema/queued-set-item.schema.json. Register the key's public JWK first
(`npx setpoll keys register --jwk producer.pub.json`) so recipients can verify the SET through the
deployment's JWKS.

Needs boto3 and cryptography (Debian: apt-get install python3-boto3 python3-cryptography).

  python3 setpoll_producer.py --table TABLE --recipient tpp-alpha --issuer https://producer.example \
      --key producer-key.pem --kid=KID [--alg ES256] [--events JSON] [--jti ID] [--ttl SECONDS] \
      [--region eu-west-2] [--endpoint-url http://127.0.0.1:8000]

Write --kid=KID with "=": a JWK thumbprint kid may begin with "-", which argparse would take
for an option.

Prints {"jti": ..., "outcomes": {recipient: "queued" | "duplicate"}}.
"""
import argparse
import base64
import json
import os
import sys
import time

import boto3
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, utils

DEFAULT_EVENTS = {
    "https://schemas.openid.net/secevent/caep/event-type/credential-change": {"credential_type": "x509", "change_type": "update"}
}
DEFAULT_TTL_SECONDS = 7 * 24 * 3600


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def uuid7() -> str:
    """A UUIDv7 (RFC 9562): millisecond time first, so a queue read in jti order is oldest first."""
    ms = time.time_ns() // 1_000_000
    raw = bytearray(ms.to_bytes(6, "big") + os.urandom(10))
    raw[6] = 0x70 | (raw[6] & 0x0F)
    raw[8] = 0x80 | (raw[8] & 0x3F)
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def sign_set(claims: dict, private_key, kid: str, alg: str) -> str:
    """A compact JWS with typ secevent+jwt (RFC 8417 section 2.3)."""
    header = {"alg": alg, "kid": kid, "typ": "secevent+jwt"}
    signing_input = ".".join(b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims))
    data = signing_input.encode("ascii")
    if alg == "ES256":
        r, s = utils.decode_dss_signature(private_key.sign(data, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    elif alg == "PS256":
        # RFC 7518 section 3.5: MGF1 with SHA-256, salt as long as the hash.
        signature = private_key.sign(data, padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())
    elif alg == "RS256":
        signature = private_key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    else:
        raise ValueError(f"unsupported alg {alg}: use PS256, RS256 or ES256")
    return f"{signing_input}.{b64url(signature)}"


def enqueue(dynamodb, table: str, recipient: str, jti: str, set_jws: str, ttl: int) -> str:
    """One conditional put: publishing the same jti again is a no-op that keeps the first SET."""
    try:
        dynamodb.put_item(
            TableName=table,
            Item={
                "pk": {"S": f"Q#{recipient}"},
                "sk": {"S": f"S#{jti}"},
                "jti": {"S": jti},
                "set": {"S": set_jws},
                "ttl": {"N": str(ttl)},
            },
            ConditionExpression="attribute_not_exists(sk)",
        )
        return "queued"
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return "duplicate"
        raise


def main() -> int:
    parser = argparse.ArgumentParser(description="Queue a signed SET into a setpoll table")
    parser.add_argument("--table", required=True)
    parser.add_argument("--recipient", action="append", required=True)
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--key", required=True, help="the producer's private key, PEM (PKCS#8)")
    parser.add_argument("--kid", required=True, help="the kid of the key's registered public JWK; write --kid=KID, as a thumbprint may begin with '-'")
    parser.add_argument("--alg", default="ES256", choices=["ES256", "PS256", "RS256"])
    parser.add_argument("--events", default=json.dumps(DEFAULT_EVENTS))
    parser.add_argument("--jti")
    parser.add_argument("--ttl", type=int, default=DEFAULT_TTL_SECONDS)
    parser.add_argument("--region")
    parser.add_argument("--endpoint-url")
    args = parser.parse_args()

    with open(args.key, "rb") as f:
        private_key = serialization.load_pem_private_key(f.read(), password=None)
    recipients = list(dict.fromkeys(args.recipient))
    jti = args.jti or uuid7()
    iat = int(time.time())
    claims = {
        "iss": args.issuer,
        "iat": iat,
        "jti": jti,
        "aud": recipients[0] if len(recipients) == 1 else recipients,
        "events": json.loads(args.events),
    }
    set_jws = sign_set(claims, private_key, args.kid, args.alg)
    dynamodb = boto3.client("dynamodb", region_name=args.region, endpoint_url=args.endpoint_url)
    outcomes = {r: enqueue(dynamodb, args.table, r, jti, set_jws, iat + args.ttl) for r in recipients}
    print(json.dumps({"jti": jti, "outcomes": outcomes}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
