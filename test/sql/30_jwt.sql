-- JWT stateless functions (docs/jwt.md): every algorithm, every error path and
-- message; keys never appear in errors. The keys below are throwaway test keys.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS nova;
RESET client_min_messages;
\set VERBOSITY default

CREATE TEMP TABLE jwt_keys_t (name text PRIMARY KEY, priv text, pub text, jpriv text, jpub text);
INSERT INTO jwt_keys_t VALUES
('rsa', '-----BEGIN PRIVATE KEY-----
MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQDioa2qmVENkCmk
ZFT7U0tArpYNjyBiIOmvjglZQdSbK0yakogZuoMqZKLyX14Bjd7VY4TRE6Khrq8G
8hEK7yPgTnbKm0fSgr29vvvtv7XMT2/KSU94hZTNYArUIRQk+LzLcTKwxE4RHkbg
PhpAntXDSKb21cldXSqfnW2QHzLkOoFnueZV6l2VeHs2F7Kv4ExTsVqmm/B+5ua/
eUE54h86WXAFdTpCOYb04hdNJ4FBvY6z9AUkxtA7ei60NjgNDv4U9CuZ8xmL0inw
vJ+mO39vhSes/pdoLfwlWFaKSb2wnZvdJ8mQW2CA6WVuoI+BGNZmW1hbCyQSrifl
NZulsbjfAgMBAAECggEAIoIRyoc70z/fR1vLoNUnATtUN85SVP7D9mo/PCsM72+h
Y2vqc1h1/m+CbDtfOgdbJczYfWlq+wl5NyqGs86D/PSVm/YW8pPbxledTq9BRFHY
KMoO4sAcT0VPgMtkoNiLDsM2v7m0VWDx09VA9BP7YpfebHlTBvdXtSQoeah2fE+u
5zkC9/co5OXrvt1uq2NCGDQKY5oSnsux3WaSBJFaMfv530EF6z9IWdWvUUKmoPfz
roxNP+FRrSxMm0A9g2gc5g3NL5qlYmaTG/GCeCCLcbpjPqrAzTy7mUiXW3h1KW7J
82+alcCQvW54Dg5yRudR/O3q4qUMLyWXrWAYXwS/yQKBgQDzZslEZ3mjV972lyzs
zq3Wc0y+3SV9M5EH9REDF2auRNXm5hKCriOMMjXOMs6OGt2e8lsS1B5GM9ZFbz2O
gdgVfysgka2Q7TU+Ln1A58PMcZt83KNxbKc5tGwx2Q7vwx1i68aKhK/Verm55gS4
sV4sIwj+S2j+N7pPEqwp46H5fQKBgQDuXK4vIYOPoMhEv4TCa8f8CNHuHpIFyAFS
5ctbyXq6oNoEviJsj0H8eertrIYnn7CJg0JK/u+pwEWWa0A3jAuFHum4UFZwmzpL
W4N4dWEb71Hs3we1v0ByTEipEJByS3939/v9afG4LNDKIA5tKOmQKqUkQB71Vrz6
U8Ljz+/qiwKBgQCXywdDwKBMLNWgxSDAQhiJf/hho3rovMr6wmusmOBxV/5p9Buh
IcaLfRivEmJcnwaNRKllcaG7uEItpTUndXRz243iztcGZdhpggac/qzOCB+m29aW
OuODCjDbWXmGLxFZip6T7jHWGaZP99ID+KE5N1Q5en/s4oYvH/78VLjD5QKBgQCo
nxPx74l8X8eNKtcmGs08tJieFS5DvLuDA2EbK6sQv5274S3FEoshqrXRMU0uVr+y
aBLLrxGoSoZv5KtnIEE+CSJZ6ytbOdTBXpng61ipRGH2aciwf/19Xg3A3CDzWglw
uxOesAX5vmptssPB4UFpZWGyBVJhSN0jUYH7WyxkBQKBgQDcXduZ6cnrpKjKmCLH
VZKECt2s0q0Ts4vidjOuh8U7nwV99yDB921NHZ9IW4h7z1jEG5iVV8dDdZwlfLqL
t0ds8qWoE5x3TMvW3jR8wcjef09NheY6Jsf+mSzGcylar1vg858nFqkN3IF0haCj
unlAKoHORUJaGvXJdzlEllkJqg==
-----END PRIVATE KEY-----', '-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA4qGtqplRDZAppGRU+1NL
QK6WDY8gYiDpr44JWUHUmytMmpKIGbqDKmSi8l9eAY3e1WOE0ROioa6vBvIRCu8j
4E52yptH0oK9vb777b+1zE9vyklPeIWUzWAK1CEUJPi8y3EysMROER5G4D4aQJ7V
w0im9tXJXV0qn51tkB8y5DqBZ7nmVepdlXh7Nheyr+BMU7Fappvwfubmv3lBOeIf
OllwBXU6QjmG9OIXTSeBQb2Os/QFJMbQO3outDY4DQ7+FPQrmfMZi9Ip8Lyfpjt/
b4UnrP6XaC38JVhWikm9sJ2b3SfJkFtggOllbqCPgRjWZltYWwskEq4n5TWbpbG4
3wIDAQAB
-----END PUBLIC KEY-----', '{"kty":"RSA","kid":"rsa1","n":"4qGtqplRDZAppGRU-1NLQK6WDY8gYiDpr44JWUHUmytMmpKIGbqDKmSi8l9eAY3e1WOE0ROioa6vBvIRCu8j4E52yptH0oK9vb777b-1zE9vyklPeIWUzWAK1CEUJPi8y3EysMROER5G4D4aQJ7Vw0im9tXJXV0qn51tkB8y5DqBZ7nmVepdlXh7Nheyr-BMU7Fappvwfubmv3lBOeIfOllwBXU6QjmG9OIXTSeBQb2Os_QFJMbQO3outDY4DQ7-FPQrmfMZi9Ip8Lyfpjt_b4UnrP6XaC38JVhWikm9sJ2b3SfJkFtggOllbqCPgRjWZltYWwskEq4n5TWbpbG43w","e":"AQAB","d":"IoIRyoc70z_fR1vLoNUnATtUN85SVP7D9mo_PCsM72-hY2vqc1h1_m-CbDtfOgdbJczYfWlq-wl5NyqGs86D_PSVm_YW8pPbxledTq9BRFHYKMoO4sAcT0VPgMtkoNiLDsM2v7m0VWDx09VA9BP7YpfebHlTBvdXtSQoeah2fE-u5zkC9_co5OXrvt1uq2NCGDQKY5oSnsux3WaSBJFaMfv530EF6z9IWdWvUUKmoPfzroxNP-FRrSxMm0A9g2gc5g3NL5qlYmaTG_GCeCCLcbpjPqrAzTy7mUiXW3h1KW7J82-alcCQvW54Dg5yRudR_O3q4qUMLyWXrWAYXwS_yQ","p":"82bJRGd5o1fe9pcs7M6t1nNMvt0lfTORB_URAxdmrkTV5uYSgq4jjDI1zjLOjhrdnvJbEtQeRjPWRW89joHYFX8rIJGtkO01Pi59QOfDzHGbfNyjcWynObRsMdkO78MdYuvGioSv1Xq5ueYEuLFeLCMI_kto_je6TxKsKeOh-X0","q":"7lyuLyGDj6DIRL-EwmvH_AjR7h6SBcgBUuXLW8l6uqDaBL4ibI9B_Hnq7ayGJ5-wiYNCSv7vqcBFlmtAN4wLhR7puFBWcJs6S1uDeHVhG-9R7N8Htb9AckxIqRCQckt_d_f7_WnxuCzQyiAObSjpkCqlJEAe9Va8-lPC48_v6os","dp":"l8sHQ8CgTCzVoMUgwEIYiX_4YaN66LzK-sJrrJjgcVf-afQboSHGi30YrxJiXJ8GjUSpZXGhu7hCLaU1J3V0c9uN4s7XBmXYaYIGnP6szggfptvWljrjgwow21l5hi8RWYqek-4x1hmmT_fSA_ihOTdUOXp_7OKGLx_-_FS4w-U","dq":"qJ8T8e-JfF_HjSrXJhrNPLSYnhUuQ7y7gwNhGyurEL-du-EtxRKLIaq10TFNLla_smgSy68RqEqGb-SrZyBBPgkiWesrWznUwV6Z4OtYqURh9mnIsH_9fV4NwNwg81oJcLsTnrAF-b5qbbLDweFBaWVhsgVSYUjdI1GB-1ssZAU","qi":"3F3bmenJ66Soypgix1WShArdrNKtE7OL4nYzrofFO58FffcgwfdtTR2fSFuIe89YxBuYlVfHQ3WcJXy6i7dHbPKlqBOcd0zL1t40fMHI3n9PTYXmOibH_pksxnMpWq9b4POfJxapDdyBdIWgo7p5QCqBzkVCWhr1yXc5RJZZCao"}', '{"kty":"RSA","kid":"rsa1","n":"4qGtqplRDZAppGRU-1NLQK6WDY8gYiDpr44JWUHUmytMmpKIGbqDKmSi8l9eAY3e1WOE0ROioa6vBvIRCu8j4E52yptH0oK9vb777b-1zE9vyklPeIWUzWAK1CEUJPi8y3EysMROER5G4D4aQJ7Vw0im9tXJXV0qn51tkB8y5DqBZ7nmVepdlXh7Nheyr-BMU7Fappvwfubmv3lBOeIfOllwBXU6QjmG9OIXTSeBQb2Os_QFJMbQO3outDY4DQ7-FPQrmfMZi9Ip8Lyfpjt_b4UnrP6XaC38JVhWikm9sJ2b3SfJkFtggOllbqCPgRjWZltYWwskEq4n5TWbpbG43w","e":"AQAB"}'),
('p256', '-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgalRpvf2b2tGJvybn
vDCjMpwihJ+39q85ZeCCrlbliauhRANCAATO8niaxiwGRSAvyBVywNnQCnjDaszb
zM9xxJhRf82LOmSNHCG0g+dlSQCcODM4eOJzXrUZlQvr7KMSAsiC9cxq
-----END PRIVATE KEY-----', '-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEzvJ4msYsBkUgL8gVcsDZ0Ap4w2rM
28zPccSYUX/NizpkjRwhtIPnZUkAnDgzOHjic161GZUL6+yjEgLIgvXMag==
-----END PUBLIC KEY-----', '{"kty":"EC","kid":"p256","crv":"P-256","x":"zvJ4msYsBkUgL8gVcsDZ0Ap4w2rM28zPccSYUX_Nizo","y":"ZI0cIbSD52VJAJw4Mzh44nNetRmVC-vsoxICyIL1zGo","d":"alRpvf2b2tGJvybnvDCjMpwihJ-39q85ZeCCrlblias"}', '{"kty":"EC","kid":"p256","crv":"P-256","x":"zvJ4msYsBkUgL8gVcsDZ0Ap4w2rM28zPccSYUX_Nizo","y":"ZI0cIbSD52VJAJw4Mzh44nNetRmVC-vsoxICyIL1zGo"}'),
('p384', '-----BEGIN PRIVATE KEY-----
MIG2AgEAMBAGByqGSM49AgEGBSuBBAAiBIGeMIGbAgEBBDCSgsftQiB/zTTRVd9Q
Yd+kPn8yC0ZjvEKqxO6O4j8/TwEh4bPlWm7g3RG/lRr5FLChZANiAARxMklC5T1D
SfSou9pryGlDHN+LmNRWpwuTcN/y9oumF5JUXXwckdiZr9g2KEhhCs9R5sA3q+OG
3lc4hChNPJOHR0kHjBA9IjphuoYgJpWUUE47g54Izz4yVq4Ea4xPyw4=
-----END PRIVATE KEY-----', '-----BEGIN PUBLIC KEY-----
MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEcTJJQuU9Q0n0qLvaa8hpQxzfi5jUVqcL
k3Df8vaLpheSVF18HJHYma/YNihIYQrPUebAN6vjht5XOIQoTTyTh0dJB4wQPSI6
YbqGICaVlFBOO4OeCM8+MlauBGuMT8sO
-----END PUBLIC KEY-----', '{"kty":"EC","kid":"p384","crv":"P-384","x":"cTJJQuU9Q0n0qLvaa8hpQxzfi5jUVqcLk3Df8vaLpheSVF18HJHYma_YNihIYQrP","y":"UebAN6vjht5XOIQoTTyTh0dJB4wQPSI6YbqGICaVlFBOO4OeCM8-MlauBGuMT8sO","d":"koLH7UIgf8000VXfUGHfpD5_MgtGY7xCqsTujuI_P08BIeGz5Vpu4N0Rv5Ua-RSw"}', '{"kty":"EC","kid":"p384","crv":"P-384","x":"cTJJQuU9Q0n0qLvaa8hpQxzfi5jUVqcLk3Df8vaLpheSVF18HJHYma_YNihIYQrP","y":"UebAN6vjht5XOIQoTTyTh0dJB4wQPSI6YbqGICaVlFBOO4OeCM8-MlauBGuMT8sO"}'),
('p521', '-----BEGIN PRIVATE KEY-----
MIHuAgEAMBAGByqGSM49AgEGBSuBBAAjBIHWMIHTAgEBBEIATG77k5GFH/R2v0Ur
THOZug6ztdwOBafMvwGI7iQBqjseJFzcaPObJ1zGEiaeicG8EVYx6rc+UfgX1CUw
Aslb/IChgYkDgYYABAAZy35u+eU3zPGaLXVzozi7Zrea3PvPC2dKsWqDul3i72Di
IlUiVGIcUH9x0czQ4SsqoZceOARHxUJK9OVhX+bGfQDwkVIwen3YtiCARvuOckzs
hEjIuP5BMN+X82JctVdQhAT4xTMaa9v5N21GVQJoq9sWuZHGmUvEck+R3KWwQrfI
7A==
-----END PRIVATE KEY-----', '-----BEGIN PUBLIC KEY-----
MIGbMBAGByqGSM49AgEGBSuBBAAjA4GGAAQAGct+bvnlN8zxmi11c6M4u2a3mtz7
zwtnSrFqg7pd4u9g4iJVIlRiHFB/cdHM0OErKqGXHjgER8VCSvTlYV/mxn0A8JFS
MHp92LYggEb7jnJM7IRIyLj+QTDfl/NiXLVXUIQE+MUzGmvb+TdtRlUCaKvbFrmR
xplLxHJPkdylsEK3yOw=
-----END PUBLIC KEY-----', '{"kty":"EC","kid":"p521","crv":"P-521","x":"ABnLfm755TfM8ZotdXOjOLtmt5rc-88LZ0qxaoO6XeLvYOIiVSJUYhxQf3HRzNDhKyqhlx44BEfFQkr05WFf5sZ9","y":"APCRUjB6fdi2IIBG-45yTOyESMi4_kEw35fzYly1V1CEBPjFMxpr2_k3bUZVAmir2xa5kcaZS8RyT5HcpbBCt8js","d":"AExu-5ORhR_0dr9FK0xzmboOs7XcDgWnzL8BiO4kAao7HiRc3GjzmydcxhImnonBvBFWMeq3PlH4F9QlMALJW_yA"}', '{"kty":"EC","kid":"p521","crv":"P-521","x":"ABnLfm755TfM8ZotdXOjOLtmt5rc-88LZ0qxaoO6XeLvYOIiVSJUYhxQf3HRzNDhKyqhlx44BEfFQkr05WFf5sZ9","y":"APCRUjB6fdi2IIBG-45yTOyESMi4_kEw35fzYly1V1CEBPjFMxpr2_k3bUZVAmir2xa5kcaZS8RyT5HcpbBCt8js"}'),
('ed25519', '-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIBedz6h5ckS5Ji2ywD6FVaxMqHeIbMIQHJJIvDXbLoVq
-----END PRIVATE KEY-----', '-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAmd97WgXl6KkWfuUx96rO6k2409zcMUYdBYLPn3YWy5Q=
-----END PUBLIC KEY-----', '{"kty":"OKP","kid":"ed1","crv":"Ed25519","x":"md97WgXl6KkWfuUx96rO6k2409zcMUYdBYLPn3YWy5Q","d":"F53PqHlyRLkmLbLAPoVVrEyod4hswhAckki8NdsuhWo"}', '{"kty":"OKP","kid":"ed1","crv":"Ed25519","x":"md97WgXl6KkWfuUx96rO6k2409zcMUYdBYLPn3YWy5Q"}');
CREATE TEMP TABLE jwt_extra_t (name text PRIMARY KEY, pem text);
INSERT INTO jwt_extra_t VALUES
('rsa_pkcs1', '-----BEGIN RSA PUBLIC KEY-----
MIIBCgKCAQEA4qGtqplRDZAppGRU+1NLQK6WDY8gYiDpr44JWUHUmytMmpKIGbqD
KmSi8l9eAY3e1WOE0ROioa6vBvIRCu8j4E52yptH0oK9vb777b+1zE9vyklPeIWU
zWAK1CEUJPi8y3EysMROER5G4D4aQJ7Vw0im9tXJXV0qn51tkB8y5DqBZ7nmVepd
lXh7Nheyr+BMU7Fappvwfubmv3lBOeIfOllwBXU6QjmG9OIXTSeBQb2Os/QFJMbQ
O3outDY4DQ7+FPQrmfMZi9Ip8Lyfpjt/b4UnrP6XaC38JVhWikm9sJ2b3SfJkFtg
gOllbqCPgRjWZltYWwskEq4n5TWbpbG43wIDAQAB
-----END RSA PUBLIC KEY-----'),
('rsa1024', '-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDPruuz0bVfMb3UhhKsjuvc+Gfy
FpkUsblDG6ARuNliQ9II2bLMMT8W0aLuiXfgqFAD+poo1Gff/Q8H0s3XK7EC521i
V0t6fjUAzY6AUPcN6X3SotFc+ogJAdvNvmgDp68Ytwv80ECqNZsE86bjsUWOqTe7
haFwf7tm4/yn81TQPwIDAQAB
-----END PUBLIC KEY-----');
CREATE TEMP TABLE jwt_algs_t (alg text, key text);
INSERT INTO jwt_algs_t VALUES ('RS256','rsa'), ('RS384','rsa'), ('RS512','rsa'), ('PS256','rsa'), ('PS384','rsa'),
  ('PS512','rsa'), ('ES256','p256'), ('ES384','p384'), ('ES512','p521'), ('EdDSA','ed25519');

-- Fixed clock (superuser-only GUC, for tests): 2023-11-14 22:13:20 UTC.
SET nova.jwt_test_now = 1700000000;

-- ---- HMAC ------------------------------------------------------------------
-- HS256 is deterministic: the exact token
SELECT nova.jwt_sign('{"sub":"user-1","exp":2000000000}', 'a-32-byte-secret-for-hs256-tests');
SELECT nova.jwt_verify(nova.jwt_sign('{"sub":"user-1","exp":2000000000}', 'a-32-byte-secret-for-hs256-tests'),
                       'a-32-byte-secret-for-hs256-tests');
SELECT alg, nova.jwt_verify(nova.jwt_sign('{"sub":"u","n":[1,2.5,null]}', repeat('k', 64), alg), repeat('k', 64)) AS claims
  FROM unnest(ARRAY['HS256','HS384','HS512']) AS alg;
-- the same secret as an oct JWK
SELECT nova.jwt_verify(nova.jwt_sign('{"sub":"u"}', repeat('k', 64), 'HS512'),
                       '{"kty":"oct","k":"' || rtrim(translate(encode(convert_to(repeat('k', 64), 'UTF8'), 'base64'), E'+/\n', '-_'), '=') || '"}');

-- ---- every asymmetric algorithm: PEM and JWK, both directions ----------------
SELECT a.alg,
       nova.jwt_verify(nova.jwt_sign('{"sub":"u"}', k.priv, a.alg), k.pub) = '{"sub":"u"}' AS pem_pem,
       nova.jwt_verify(nova.jwt_sign('{"sub":"u"}', k.priv, a.alg), k.jpub) = '{"sub":"u"}' AS pem_jwk,
       nova.jwt_verify(nova.jwt_sign('{"sub":"u"}', k.jpriv, a.alg), k.pub) = '{"sub":"u"}' AS jwk_pem,
       nova.jwt_verify(nova.jwt_sign('{"sub":"u"}', k.jpriv, a.alg), '{"keys":[' || k.jpub || ']}', ARRAY[a.alg]) = '{"sub":"u"}' AS jwks,
       (SELECT header->>'kid' FROM nova.jwt_decode_unverified(nova.jwt_sign('{}', k.jpriv, a.alg))) AS kid_from_jwk
  FROM jwt_algs_t a JOIN jwt_keys_t k ON k.name = a.key ORDER BY 1;
-- RS256 is deterministic too
SELECT md5(nova.jwt_sign('{"sub":"u"}', priv, 'RS256')) = md5(nova.jwt_sign('{"sub":"u"}', priv, 'RS256')) AS deterministic
  FROM jwt_keys_t WHERE name = 'rsa';
-- PKCS#1 "RSA PUBLIC KEY" PEM
SELECT nova.jwt_verify(nova.jwt_sign('{"sub":"u"}', k.priv, 'RS256'), e.pem) AS pkcs1
  FROM jwt_keys_t k, jwt_extra_t e WHERE k.name = 'rsa' AND e.name = 'rsa_pkcs1';
-- caller header fields; alg is always nova's, typ defaults to JWT
SELECT header FROM nova.jwt_decode_unverified(
  nova.jwt_sign('{"sub":"u"}', repeat('k', 32), 'HS256', '{"kid":"k1","typ":"at+jwt","alg":"none"}'));

-- ---- RFC 7515 appendix A.1 -------------------------------------------------------
SET nova.jwt_test_now = 1300819370;
SELECT nova.jwt_verify(
  'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
  '{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}',
  ARRAY['HS256'], NULL, 'joe');
SET nova.jwt_test_now = 1700000000;
-- expired today
SELECT nova.jwt_verify(
  'eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk',
  '{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}');
\echo :LAST_ERROR_SQLSTATE

-- ---- time claims and leeway (nova.jwt_leeway, default 30 s) ------------------------
CREATE TEMP TABLE jwt_s AS SELECT repeat('s', 32) AS k;
SELECT nova.jwt_verify(nova.jwt_sign('{"exp":1699999971}', k), k) FROM jwt_s;   -- within leeway
SELECT nova.jwt_verify(nova.jwt_sign('{"exp":1699999970}', k), k) FROM jwt_s;   -- exp <= now - leeway
\echo :LAST_ERROR_SQLSTATE
SET nova.jwt_leeway = 0;
SELECT nova.jwt_verify(nova.jwt_sign('{"exp":1700000000.5}', k), k) FROM jwt_s;  -- fractions allowed
SELECT nova.jwt_verify(nova.jwt_sign('{"exp":1700000000}', k), k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
RESET nova.jwt_leeway;
SELECT nova.jwt_verify(nova.jwt_sign('{"nbf":1700000030}', k), k) FROM jwt_s;
SELECT nova.jwt_verify(nova.jwt_sign('{"nbf":1700000031}', k), k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{"iat":1700000031}', k), k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- must be JSON numbers (tokens signed here with a hand-made payload)
-- ---- malformed tokens: every structural and claim-type rule ---------------------
-- exp as a string
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiJ9.eyJleHAiOiIxNzAwMDAwMDAwIn0.Go8yBsETfgyTd0NYDT7Np3Co022r13mCxFFxf3eKR0E', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- nbf as a string
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiJ9.eyJuYmYiOiIxNzAwMDAwMDAwIn0.sMaGLj3yIGiDdpcnhN2FLMsz2l9QC5sKkHpdrTSPMH4', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- iat as a string
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiJ9.eyJpYXQiOiIxNzAwMDAwMDAwIn0.m1gn9RKkR7Jk8btKTgy7BYRa3ToIynHRr3qJNFFdIqg', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- exp null
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiJ9.eyJleHAiOm51bGx9.n675RbSAEBfndbA9Q1GMfk4X5lSE4rLiaaB3Nc5l7fI', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- sub must be a string
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOjQyfQ.Q1_vAsvnaiQ-mpY4JwLERtwivSxB0au44jLvPQjsehc', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- duplicate claim names
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIiwic3ViIjoiYWRtaW4ifQ.qojLjF5DeECjsXqF9AwXZIpELY-om999a6M_xjQaKHA', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- U+0000 in a claim
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhXHUwMDAwYiJ9.GMMMAcnlq9sUCSvfZt9kQIvyvM1Q5PBva7jJGJMJJW4', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- payload not an object
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiJ9.WzEsMl0.3p6X-EI6TNmWkWm34-Ar4UtSV45g13NLetOIYabutxo', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- payload not JSON
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.SXE7hZ9E0gQd13rEcJlnvQOaViAg-rE8QP-Pbd_o0qk', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- invalid UTF-8 in the payload
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiL_In0.BCqs0Z13-6f09vjIsBuAGkv8Zvi4_3sHJ1DBfjNbMWI', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- header: duplicate alg
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiIsImFsZyI6Im5vbmUifQ.e30.ubVvIHH-DLH69_9ZADINDPWsVwyaHmbLvYIP9cJzNMY', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- header not an object
SELECT nova.jwt_verify('IkhTMjU2Ig.e30.UiRWmux7r9cRNxlYHCheDe9uvwt5GIFYqg1zVNoW2h0', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- header without alg
SELECT nova.jwt_verify('eyJ0eXAiOiJKV1QifQ.e30.7pZ_mbgcqlTkYB3Ih1UtJOAMikcwmB1-GI-Q55Qo1Gg', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- alg none (unsigned)
SELECT nova.jwt_verify('eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- alg none (with a signature)
SELECT nova.jwt_verify('eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.eegzA02W7fNASEG370_D6M2iYys0dRLCGZEMLV5kSBU', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- alg is case-sensitive
SELECT nova.jwt_verify('eyJhbGciOiJoczI1NiJ9.e30.wTOOcxQFZF3sABozapDinM0-M8MxnQxhxcNAYk1jnQY', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- crit is never understood
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiIsImNyaXQiOlsiZXhwIl0sImV4cCI6MX0.e30.MzvLb3iUXIFenLkj9GXNVdzZAvelICYbRLggCJbDVe4', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- empty crit too
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiIsImNyaXQiOltdfQ.e30.LCCMWFn98r32n16S4fb7AI4G2ARw7RfUfnSQoEQqVcE', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- b64 false
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiIsImI2NCI6ZmFsc2V9.e30.RcrcjsOCcMRxcernhMnlRtDoRvyfXzw-brNXy3CV6tI', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- kid not a string
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiIsImtpZCI6MX0.e30.s5QRGQ6nb92EbSzGffJJnJEfFC6iUsf2BILxHVgwaQM', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- padding is not canonical base64url
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.KoWfczVfw8HJfAfRRbR7D8lXVWEeYL__sds0IG3y6RY=', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- standard base64 alphabet
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiJ9.+eyJzdWIiOiJhIn0.KoWfczVfw8HJfAfRRbR7D8lXVWEeYL__sds0IG3y6RY', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- non-zero trailing bits
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.KoWfczVfw8HJfAfRRbR7D8lXVWEeYL__sds0IG3y6RZ', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- two parts
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- four parts
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.KoWfczVfw8HJfAfRRbR7D8lXVWEeYL__sds0IG3y6RY.x', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- empty header
SELECT nova.jwt_verify('.eyJzdWIiOiJhIn0.KoWfczVfw8HJfAfRRbR7D8lXVWEeYL__sds0IG3y6RY', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- empty signature
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- JSON serialization
SELECT nova.jwt_verify('{"payload":"eyJzdWIiOiJhIn0","signatures":[{"protected":"eyJhbGciOiJIUzI1NiJ9","signature":"KoWfczVfw8HJfAfRRbR7D8lXVWEeYL__sds0IG3y6RY"}]}', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- over 16 KiB
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiJ9.eyJwYWQiOiJ4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHgifQ.Cit0PQjMmoSUUObVyeFhdLMA1WQx-3W9Jb_Bxezvw_I', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- tampered payload
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.KoWfczVfw8HJfAfRRbR7D8lXVWEeYL__sds0IG3y6RY', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- tampered signature
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.KoWfczVfw8AJfAfRRbR7D8lXVWEeYL__sds0IG3y6RY', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- wrong secret
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.1o2q1l-HVPRHj2cKwsE9U_otCgo8vRdeHBD20JW3Hw4', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
-- embedded jwk is never used
SELECT nova.jwt_verify('eyJhbGciOiJIUzI1NiIsImp3ayI6eyJrdHkiOiJvY3QiLCJrIjoiZUhoNGVIaDRlSGg0ZUhoNGVIaDRlSGg0ZUhoNGVIaDRlSGg0ZUhoNGVIZyJ9fQ.eyJzdWIiOiJhZG1pbiJ9.13ea_QVl8QabQj0iy55Jqu_bIICZM5Z3gLgzeQUFayk', k) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE

-- ---- audience and issuer ---------------------------------------------------------
CREATE TEMP TABLE jwt_aud_t AS SELECT 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIiwiYXVkIjpbImFwaSIsIndlYiJdLCJpc3MiOiJodHRwczovL2lkcC5leGFtcGxlIn0.0Ar1aEdtMaA0hp1THoe3HWkGB4b6Ajg5vHoNgCLxtJ8'::text AS t;
SELECT nova.jwt_verify(t, k, NULL, 'api') ->> 'sub' AS aud_in_array FROM jwt_aud_t, jwt_s;
SELECT nova.jwt_verify(t, k, NULL, 'API') FROM jwt_aud_t, jwt_s;
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{"sub":"a"}', k), k, NULL, 'api') FROM jwt_s;  -- no aud at all
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{"aud":"api"}', k), k, NULL, 'api') ->> 'aud' AS aud_string FROM jwt_s;
SELECT nova.jwt_verify(nova.jwt_sign('{"aud":5}', k), k, NULL, 'api') FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(t, k, NULL, NULL, 'https://idp.example') ->> 'iss' AS iss FROM jwt_aud_t, jwt_s;
SELECT nova.jwt_verify(t, k, NULL, NULL, 'https://idp.example/') FROM jwt_aud_t, jwt_s;
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{}', k), k, NULL, NULL, 'https://idp.example') FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE

-- ---- algorithms ------------------------------------------------------------------
SELECT nova.jwt_verify(nova.jwt_sign('{}', k), k, ARRAY['RS256','HS256']) FROM jwt_s;
SELECT nova.jwt_verify(nova.jwt_sign('{}', k), k, ARRAY['HS384']) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{}', k), k, ARRAY['hs256']) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{}', k), k, ARRAY[]::text[]) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{}', k), k, ARRAY['HS256', NULL]) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{}', k), k, ARRAY['none']) FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE

-- ---- key/algorithm confusion: a key is only used with its own family and curve ----
-- HS256 token checked against an RSA public key PEM: refused before any signature check,
-- so a token keyed with the PEM text as HMAC secret cannot pass either
SELECT nova.jwt_verify(nova.jwt_sign('{"sub":"admin"}', 'x' || pub, 'HS256'), pub) FROM jwt_keys_t WHERE name = 'rsa';
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{}', k.priv, 'ES256'), o.pub) FROM jwt_keys_t k, jwt_keys_t o WHERE k.name = 'p256' AND o.name = 'p384';
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{}', k.priv, 'EdDSA'), o.pub) FROM jwt_keys_t k, jwt_keys_t o WHERE k.name = 'ed25519' AND o.name = 'rsa';
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{}', priv, 'RS256'), (jpub::jsonb || '{"alg":"PS256"}')::text) FROM jwt_keys_t WHERE name = 'rsa';
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_sign('{}', priv, 'ES384') FROM jwt_keys_t WHERE name = 'p256';
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{}', priv, 'RS256'), k) FROM jwt_keys_t, jwt_s WHERE name = 'rsa';
\echo :LAST_ERROR_SQLSTATE

-- ---- key errors (the key never appears in the message or detail) ---------------------
SELECT nova.jwt_verify(nova.jwt_sign('{}', k), 'too-short-secret') FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_sign('{}', 'too-short-secret');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_sign('{}', repeat('k', 40), 'HS384');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{}', k), '') FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{}', k), E'-----BEGIN PUBLIC KEY-----\nc2VjcmV0LWtleS1tYXRlcmlhbA==\n-----END PUBLIC KEY-----') FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{}', priv, 'RS256'), e.pem) FROM jwt_keys_t k, jwt_extra_t e WHERE k.name = 'rsa' AND e.name = 'rsa1024';
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{}', k), '{"kty":"oct","k":"c2VjcmV0LWtleS1tYXRlcmlhbA=="}') FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{}', k), '{"kty":"oct","use":"enc","k":"c2VjcmV0LWtleS1tYXRlcmlhbC1sb25nLWVub3VnaC0zMmI"}') FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{}', k), '{"kty":"oct","k":"c2VjcmV0","k":"c2VjcmV0"}') FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{}', k), '{not json') FROM jwt_s;
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{}', priv, 'ES256'), '{"kty":"EC","crv":"P-256","x":"' || (jpub::jsonb->>'x') || '","y":"' || (jpub::jsonb->>'x') || '"}')
  FROM jwt_keys_t WHERE name = 'p256';
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_sign('{}', pub, 'ES256') FROM jwt_keys_t WHERE name = 'p256';
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_sign('{}', jpub, 'EdDSA') FROM jwt_keys_t WHERE name = 'ed25519';
\echo :LAST_ERROR_SQLSTATE
-- key sets: kid must match exactly; duplicate kids and mixed key kinds are refused
SELECT nova.jwt_verify(nova.jwt_sign('{}', k.jpriv, 'ES256'), '{"keys":[' || o.jpub || ',' || k.jpub || ']}') ->> 'x' IS NULL AS found_by_kid
  FROM jwt_keys_t k, jwt_keys_t o WHERE k.name = 'p256' AND o.name = 'rsa';
SELECT nova.jwt_verify(nova.jwt_sign('{}', k.jpriv, 'ES256'), '{"keys":[' || o.jpub || ']}')
  FROM jwt_keys_t k, jwt_keys_t o WHERE k.name = 'p256' AND o.name = 'rsa';
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{}', k.priv, 'ES256'), '{"keys":[' || k.jpub || ']}')
  FROM jwt_keys_t k WHERE k.name = 'p256';
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{}', k.jpriv, 'ES256'), '{"keys":[' || k.jpub || ',' || k.jpub || ']}')
  FROM jwt_keys_t k WHERE k.name = 'p256';
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{}', k.jpriv, 'ES256'), '{"keys":[' || k.jpub || ',{"kty":"oct","kid":"h","k":"c2VjcmV0LWtleS1tYXRlcmlhbC1sb25nLWVub3VnaC0zMmI"}]}')
  FROM jwt_keys_t k WHERE k.name = 'p256';
\echo :LAST_ERROR_SQLSTATE

-- ---- signing errors ------------------------------------------------------------
SELECT nova.jwt_sign('[1]', repeat('k', 32));
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_sign('{"exp":"tomorrow"}', repeat('k', 32));
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_sign('{}', repeat('k', 32), 'none');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_sign('{}', repeat('k', 32), 'HS256', '{"crit":["exp"]}');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_sign('{}', repeat('k', 32), 'HS256', '"header"');
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_sign(jsonb_build_object('pad', repeat('x', 13000)), repeat('k', 32));
\echo :LAST_ERROR_SQLSTATE

-- ---- decode without verifying ----------------------------------------------------
SELECT * FROM nova.jwt_decode_unverified(nova.jwt_sign('{"sub":"u","exp":1}', repeat('k', 32), 'HS256', '{"kid":"k1"}'));
SELECT * FROM nova.jwt_decode_unverified('eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.');
SELECT * FROM nova.jwt_decode_unverified('not-a-token');
\echo :LAST_ERROR_SQLSTATE
SELECT * FROM nova.jwt_decode_unverified('eyJhbGciOiJub25lIn0.WzFd.');
\echo :LAST_ERROR_SQLSTATE

-- ---- NULL inputs ------------------------------------------------------------------
SELECT nova.jwt_verify(NULL, 'k') IS NULL AS null_token, nova.jwt_verify('a.b.c', NULL) IS NULL AS null_key,
       nova.jwt_sign(NULL, 'k') IS NULL AS null_claims, nova.jwt_sign('{}', NULL) IS NULL AS null_sign_key,
       nova.jwt_sign('{}', repeat('k', 32), NULL) IS NULL AS null_alg,
       (SELECT count(*) FROM nova.jwt_decode_unverified(NULL)) AS decode_null_rows;
SELECT nova.jwt_verify(nova.jwt_sign('{"sub":"u"}', k, 'HS256', NULL), k, NULL, NULL, NULL) AS all_optional_null FROM jwt_s;

-- ---- privileges -------------------------------------------------------------------
SELECT has_function_privilege('nova_service', 'nova.jwt_verify(text,text,text[],text,text)', 'EXECUTE') AS service_verify,
       has_function_privilege('nova_service', 'nova.jwt_sign(jsonb,text,text,jsonb)', 'EXECUTE') AS service_sign,
       has_function_privilege('nova_service', 'nova.jwt_decode_unverified(text)', 'EXECUTE') AS service_decode;
-- the test clock is for superusers only
CREATE ROLE nova_jwt_test_user;
SET ROLE nova_jwt_test_user;
SET nova.jwt_test_now = 1;
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(nova.jwt_sign('{"sub":"u"}', repeat('k', 32)), repeat('k', 32)) AS user_can_verify;
RESET ROLE;
DROP ROLE nova_jwt_test_user;

-- ---- key texts: a public key is never an HMAC secret (docs/jwt.md, "Key texts") ----
-- An HS256 token whose HMAC key is the RSA public key text with a newline in front,
-- made with pgcrypto (not nova's signer): what anyone holding the public key could
-- forge if that text were taken as a secret.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pgcrypto;
RESET client_min_messages;
SELECT pub AS rsa_pub, jpub AS rsa_jpub FROM jwt_keys_t WHERE name = 'rsa' \gset
SELECT x.s || '.' || translate(rtrim(encode(hmac(x.s, E'\n' || :'rsa_pub', 'sha256'), 'base64'), '='), E'+/\n', '-_') AS forged
  FROM (SELECT 'eyJhbGciOiJIUzI1NiJ9.' || translate(rtrim(encode(convert_to('{"sub":"admin"}', 'UTF8'), 'base64'), '='),
                                                    E'+/\n', '-_') AS s) x \gset
SELECT nova.jwt_sign('{"sub":"u"}', priv, 'RS256') AS rs_token FROM jwt_keys_t WHERE name = 'rsa' \gset
CREATE ROLE nova_jwt_forger IN ROLE nova_service;
SET ROLE nova_jwt_forger;
SELECT nova.jwt_verify(:'forged', E'\n' || :'rsa_pub') AS forged_claims;
\echo :LAST_ERROR_SQLSTATE
SELECT nova.jwt_verify(:'forged', E'\r\n ' || :'rsa_pub' || E'\n\n') AS forged_claims;
\echo :LAST_ERROR_SQLSTATE
-- a PEM block inside other text is refused outright
SELECT nova.jwt_verify(:'forged', 'key: ' || :'rsa_pub') AS forged_claims;
\echo :LAST_ERROR_SQLSTATE
-- signing with it is not HMAC either
SELECT nova.jwt_sign('{"sub":"admin"}', E'\n' || :'rsa_pub', 'HS256') AS signed;
\echo :LAST_ERROR_SQLSTATE
-- surrounding whitespace does not stop the public key from verifying real RS256 tokens
SELECT nova.jwt_verify(:'rs_token', E'\n  ' || :'rsa_pub' || E'\n') AS padded_pem_verifies;
SELECT nova.jwt_verify(:'rs_token', E'\n' || :'rsa_jpub' || E'\n') AS padded_jwk_verifies;
RESET ROLE;
DROP ROLE nova_jwt_forger;

RESET nova.jwt_test_now;
DROP TABLE jwt_keys_t, jwt_extra_t, jwt_algs_t, jwt_s, jwt_aud_t;

-- The claims come back as the payload's jsonb, whatever the shape: numbers keep their scale
-- and size, strings their characters, nesting its order (the result is built from the
-- verifier's own parse of the payload, docs/jwt.md "Performance").
SELECT i, nova.jwt_verify(t, k) = c AS same_value, nova.jwt_verify(t, k)::text = c::text AS same_text
FROM (SELECT i, c, k, nova.jwt_sign(c, k) AS t
      FROM (VALUES
        (1, '{"n":1.50,"big":123456789012345678901234567890,"z":-0.000,"min":-9223372036854775808,"u":18446744073709551616,"e":1e-7,"f":3.141592653589793238462643383279}'::jsonb),
        (2, '{"s":"é😀 \"q\" \\ \n\t\u0001","a":[1,[2,{"b":null}],true,false,{}],"o":{"zz":[],"a":{"":""}}}'),
        (3, '{}'),
        (4, '{"sub":"user-1","aud":["api","web"],"exp":4000000000,"iat":1700000000.5,"roles":["reader"]}')) v(i, c),
           (VALUES ('jwt-regress-secret-0123456789abcdef')) s(k)) q
ORDER BY i;
