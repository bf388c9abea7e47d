#!/usr/bin/python3
# Makes the PyJWT, HS256 and alg-none vectors. Run from jwtauth/testdata.
import base64, hashlib, hmac, json

import jwt

iat = 1767225600
payload = {'aud': 'https://iam.api.cloud.yandex.net/iam/v1/tokens', 'iss': 'ajevectoraccount0001', 'iat': iat, 'exp': iat + 360}
kid = 'ajkvectorkey00000001'
k2048 = open('rsa2048.key').read()
k4096 = open('rsa4096.key').read()


def w(name, tok):
    open(name, 'w').write(tok + '\n')


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b'=').decode()


def compact(h, p):
    return b64(json.dumps(h, separators=(',', ':')).encode()) + '.' + b64(json.dumps(p, separators=(',', ':')).encode())


w('pyjwt-ps256.jwt', jwt.encode(payload, k2048, algorithm='PS256', headers={'kid': kid}))
w('pyjwt-ps256-4096.jwt', jwt.encode(payload, k4096, algorithm='PS256', headers={'kid': kid}))
w('pyjwt-rs256.jwt', jwt.encode(payload, k2048, algorithm='RS256', headers={'kid': kid}))
si = compact({'typ': 'JWT', 'alg': 'HS256', 'kid': kid}, payload)
w('hs256-public-key-secret.jwt', si + '.' + b64(hmac.new(open('rsa2048.pub', 'rb').read(), si.encode(), hashlib.sha256).digest()))
w('alg-none.jwt', compact({'typ': 'JWT', 'alg': 'none', 'kid': kid}, payload) + '.')
