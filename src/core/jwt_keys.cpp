// Key input for JWT: HMAC secrets, PEM (SPKI, PKCS#1 RSA public keys, X.509
// certificates, private keys for signing), JWK and JWKS. Every asymmetric key
// passes the same checks whatever its source: RSA 2048–16384 bits with an odd
// public exponent ≥ 3 and no ROCA fingerprint; EC on P-256/384/521 with a
// point on the curve; Ed25519.
#define NOVA_CORE_TRANSLATION_UNIT 1
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>
#include <set>

#include "core/base64url.h"
#include "core/jwt.h"
#include "core/jwt_internal.h"
#include "core/jwt_json.h"
#include "core/jwt_keyset.h"

namespace nova::jwt {
using namespace internal;
using nlohmann::json;

namespace {

struct BioFree { void operator()(BIO *p) const { BIO_free(p); } };
struct PkeyFree { void operator()(EVP_PKEY *p) const { EVP_PKEY_free(p); } };
struct PkeyCtxFree { void operator()(EVP_PKEY_CTX *p) const { EVP_PKEY_CTX_free(p); } };
struct BnFree { void operator()(BIGNUM *p) const { BN_free(p); } };
struct BldFree { void operator()(OSSL_PARAM_BLD *p) const { OSSL_PARAM_BLD_free(p); } };
struct ParamFree { void operator()(OSSL_PARAM *p) const { OSSL_PARAM_free(p); } };
struct X509Free { void operator()(X509 *p) const { X509_free(p); } };
struct DecoderFree { void operator()(OSSL_DECODER_CTX *p) const { OSSL_DECODER_CTX_free(p); } };
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Bn = std::unique_ptr<BIGNUM, BnFree>;

constexpr int kMinRsaBits = 2048;
constexpr int kMaxRsaBits = 16384;
constexpr size_t kMaxKeyText = 1024 * 1024;

// Never prompt for a passphrase: encrypted PEM keys are not supported.
int no_passphrase(char *, int, int, void *) { return -1; }

// ROCA (CVE-2017-15361): moduli from the vulnerable generator satisfy, for each
// small prime r, n mod r ∈ ⟨65537⟩ ⊂ (Z/r)*. A random modulus passes all of
// these primes with negligible probability.
bool has_roca_fingerprint(const BIGNUM *n) {
  static const unsigned kPrimes[] = {11, 13, 17, 19, 37, 53, 61, 71, 73, 79, 97, 103, 107, 109, 127, 151, 157};
  for (unsigned r : kPrimes) {
    BN_ULONG rem = BN_mod_word(n, r);
    if (rem == static_cast<BN_ULONG>(-1)) return false;
    unsigned g = 65537 % r, x = 1;
    bool in_subgroup = false;
    for (unsigned i = 0; i < r; i++) {
      if (x == rem) { in_subgroup = true; break; }
      x = (x * g) % r;
    }
    if (!in_subgroup) return false;
  }
  return true;
}

// Classifies and checks an EVP_PKEY; takes ownership.
KeyPtr key_from_pkey(Pkey pkey, bool has_private) {
  auto k = std::make_shared<Key>();
  k->has_private = has_private;
  int id = EVP_PKEY_get_base_id(pkey.get());
  if (id == EVP_PKEY_RSA) {
    k->type = Key::Type::kRSA;
    k->bits = EVP_PKEY_get_bits(pkey.get());
    if (k->bits < kMinRsaBits)
      key_invalid("RSA key too small", "the modulus has " + std::to_string(k->bits) + " bits; at least 2048 are required");
    if (k->bits > kMaxRsaBits)
      key_invalid("RSA key too large", "the modulus has " + std::to_string(k->bits) + " bits; at most 16384 are accepted");
    BIGNUM *n = nullptr, *e = nullptr;
    if (EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
        EVP_PKEY_get_bn_param(pkey.get(), OSSL_PKEY_PARAM_RSA_E, &e) != 1) {
      BN_free(n);
      BN_free(e);
      key_invalid("unreadable RSA key");
    }
    Bn nn(n), ee(e);
    if (!BN_is_odd(ee.get()) || BN_cmp(ee.get(), BN_value_one()) <= 0 || BN_num_bits(ee.get()) > 64)
      key_invalid("RSA public exponent must be odd, at least 3 and at most 64 bits");
    if (!BN_is_odd(nn.get())) key_invalid("RSA modulus must be odd");
    if (has_roca_fingerprint(nn.get())) key_invalid("RSA key has the ROCA fingerprint (CVE-2017-15361)");
  } else if (id == EVP_PKEY_EC) {
    k->type = Key::Type::kEC;
    char group[64] = {0};
    size_t glen = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &glen) != 1)
      key_invalid("EC key without a named curve");
    if (std::strcmp(group, "prime256v1") == 0 || std::strcmp(group, "P-256") == 0) k->curve = 256;
    else if (std::strcmp(group, "secp384r1") == 0 || std::strcmp(group, "P-384") == 0) k->curve = 384;
    else if (std::strcmp(group, "secp521r1") == 0 || std::strcmp(group, "P-521") == 0) k->curve = 521;
    else key_invalid("unsupported EC curve", std::string("curve ") + group + "; P-256, P-384 and P-521 are supported");
    k->bits = k->curve;
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
    if (!ctx || EVP_PKEY_public_check_quick(ctx.get()) != 1) {
      ERR_clear_error();
      key_invalid("EC public key is not a valid point on its curve");
    }
  } else if (id == EVP_PKEY_ED25519) {
    k->type = Key::Type::kOKP;
    k->curve = 25519;
    k->bits = 256;
  } else {
    key_invalid("unsupported key type", "RSA, EC (P-256, P-384, P-521) and Ed25519 keys are supported");
  }
  k->pkey = pkey.release();
  prepare_verify(*k);
  return k;
}

KeyPtr parse_pem(std::string_view text, KeyPurpose purpose) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) key_invalid("out of memory");
  ERR_clear_error();
  if (text.rfind("-----BEGIN CERTIFICATE-----", 0) == 0) {
    if (purpose == KeyPurpose::kSign) key_invalid("signing needs a private key, not a certificate");
    std::unique_ptr<X509, X509Free> cert(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
    if (!cert) { ERR_clear_error(); key_invalid("unreadable PEM certificate"); }
    Pkey pk(X509_get_pubkey(cert.get()));
    if (!pk) { ERR_clear_error(); key_invalid("unreadable public key in certificate"); }
    return key_from_pkey(std::move(pk), false);
  }
  EVP_PKEY *raw = nullptr;
  bool is_private = text.find("PRIVATE KEY-----") != std::string_view::npos;
  if (text.rfind("-----BEGIN ENCRYPTED PRIVATE KEY-----", 0) == 0 || text.find("Proc-Type: 4,ENCRYPTED") != std::string_view::npos)
    key_invalid("encrypted PEM keys are not supported");
  int selection = is_private ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY;
  std::unique_ptr<OSSL_DECODER_CTX, DecoderFree> dctx(
      OSSL_DECODER_CTX_new_for_pkey(&raw, "PEM", nullptr, nullptr, selection, nullptr, nullptr));
  if (!dctx || OSSL_DECODER_from_bio(dctx.get(), bio.get()) != 1 || raw == nullptr) {
    EVP_PKEY_free(raw);
    ERR_clear_error();
    key_invalid("unreadable PEM key", "expected PUBLIC KEY, RSA PUBLIC KEY, CERTIFICATE or (for signing) PRIVATE KEY");
  }
  Pkey pk(raw);
  if (purpose == KeyPurpose::kSign && !is_private) key_invalid("signing needs a private key");
  return key_from_pkey(std::move(pk), is_private);
}

// ---- JWK ------------------------------------------------------------------

struct Unusable {  // a JWK that is well-formed but not for signatures (skipped inside a JWKS)
  std::string why;
};

std::string member_b64(const json &jwk, const char *name, bool required) {
  auto it = jwk.find(name);
  if (it == jwk.end()) {
    if (required) key_invalid(std::string("JWK member \"") + name + "\" missing");
    return {};
  }
  if (!it->is_string()) key_invalid(std::string("JWK member \"") + name + "\" is not a string");
  std::string out;
  if (!b64url::decode(it->get_ref<const std::string &>(), out))
    key_invalid(std::string("JWK member \"") + name + "\" is not canonical base64url");
  return out;
}

Bn to_bn(const std::string &bytes) {
  Bn b(BN_bin2bn(reinterpret_cast<const unsigned char *>(bytes.data()), static_cast<int>(bytes.size()), nullptr));
  if (!b) key_invalid("out of memory");
  return b;
}

Pkey pkey_fromdata(const char *type, OSSL_PARAM *params, bool priv) {
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY *raw = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1) {
    EVP_PKEY_free(raw);
    ERR_clear_error();
    return nullptr;
  }
  return Pkey(raw);
}

KeyPtr parse_jwk(const json &jwk, KeyPurpose purpose) {
  if (!jwk.is_object()) key_invalid("JWK is not a JSON object");
  auto str = [&](const char *name) -> std::optional<std::string> {
    auto it = jwk.find(name);
    if (it == jwk.end()) return std::nullopt;
    if (!it->is_string()) key_invalid(std::string("JWK member \"") + name + "\" is not a string");
    return it->get<std::string>();
  };
  auto kty = str("kty");
  if (!kty) key_invalid("JWK member \"kty\" missing");
  auto use = str("use");
  if (use && *use != "sig") throw Unusable{"JWK \"use\" is not \"sig\""};
  if (auto it = jwk.find("key_ops"); it != jwk.end()) {
    if (!it->is_array()) key_invalid("JWK member \"key_ops\" is not an array");
    const char *want = purpose == KeyPurpose::kSign ? "sign" : "verify";
    bool found = false;
    for (const auto &op : *it) {
      if (!op.is_string()) key_invalid("JWK member \"key_ops\" holds a non-string");
      if (op.get_ref<const std::string &>() == want) found = true;
    }
    if (!found) throw Unusable{std::string("JWK \"key_ops\" does not include \"") + want + "\""};
  }
  std::optional<Alg> pinned;
  if (auto alg = str("alg")) {
    pinned = alg_from_name(*alg);
    if (!pinned) throw Unusable{"JWK \"alg\" is not a supported JWS algorithm"};
  }
  auto kid = str("kid");
  bool want_private = purpose == KeyPurpose::kSign;
  KeyPtr key;

  if (*kty == "oct") {
    std::string k = member_b64(jwk, "k", true);
    if (k.empty()) key_invalid("empty HMAC key");
    try {
      jwt_keyset::require_plain_secret(k);  // a public key wrapped as "oct" is still public
    } catch (...) {
      OPENSSL_cleanse(k.data(), k.size());
      throw;
    }
    auto kp = primitive::hmac_key(k);
    OPENSSL_cleanse(k.data(), k.size());
    key = kp;
  } else if (*kty == "RSA") {
    if (jwk.contains("oth")) key_invalid("multi-prime RSA keys are not supported");
    Bn n = to_bn(member_b64(jwk, "n", true)), e = to_bn(member_b64(jwk, "e", true));
    std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
    if (!bld) key_invalid("out of memory");
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get());
    OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get());
    std::vector<Bn> keep;
    if (want_private) {
      static const std::pair<const char *, const char *> kPriv[] = {
          {"d", OSSL_PKEY_PARAM_RSA_D},           {"p", OSSL_PKEY_PARAM_RSA_FACTOR1},
          {"q", OSSL_PKEY_PARAM_RSA_FACTOR2},     {"dp", OSSL_PKEY_PARAM_RSA_EXPONENT1},
          {"dq", OSSL_PKEY_PARAM_RSA_EXPONENT2}, {"qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1}};
      if (!jwk.contains("d")) key_invalid("signing needs a private JWK (member \"d\")");
      bool crt = jwk.contains("p") && jwk.contains("q") && jwk.contains("dp") && jwk.contains("dq") && jwk.contains("qi");
      for (const auto &[member, param] : kPriv) {
        if (std::strcmp(member, "d") != 0 && !crt) continue;  // n, e, d alone is enough (slower)
        keep.push_back(to_bn(member_b64(jwk, member, true)));
        OSSL_PARAM_BLD_push_BN(bld.get(), param, keep.back().get());
      }
    }
    std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
    Pkey pk = params ? pkey_fromdata("RSA", params.get(), want_private) : nullptr;
    if (!pk) key_invalid("unusable RSA JWK");
    key = key_from_pkey(std::move(pk), want_private);
  } else if (*kty == "EC") {
    auto crv = str("crv");
    if (!crv) key_invalid("JWK member \"crv\" missing");
    const char *group = nullptr;
    size_t nb = 0;
    if (*crv == "P-256") group = "P-256", nb = 32;
    else if (*crv == "P-384") group = "P-384", nb = 48;
    else if (*crv == "P-521") group = "P-521", nb = 66;
    else key_invalid("unsupported EC curve", "crv \"" + *crv + "\"; P-256, P-384 and P-521 are supported");
    std::string x = member_b64(jwk, "x", true), y = member_b64(jwk, "y", true);
    if (x.size() != nb || y.size() != nb) key_invalid("EC JWK coordinates have the wrong length for the curve");
    std::string point = "\x04" + x + y;
    std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
    if (!bld) key_invalid("out of memory");
    OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
    OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
    Bn d;
    if (want_private) {
      std::string dbytes = member_b64(jwk, "d", true);
      if (dbytes.size() != nb) key_invalid("EC JWK private key has the wrong length for the curve");
      d = to_bn(dbytes);
      OPENSSL_cleanse(dbytes.data(), dbytes.size());
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, d.get());
    }
    std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld.get()));
    Pkey pk = params ? pkey_fromdata("EC", params.get(), want_private) : nullptr;
    if (!pk) key_invalid("EC public key is not a valid point on its curve");
    key = key_from_pkey(std::move(pk), want_private);
  } else if (*kty == "OKP") {
    auto crv = str("crv");
    if (!crv) key_invalid("JWK member \"crv\" missing");
    if (*crv != "Ed25519") key_invalid("unsupported OKP curve", "crv \"" + *crv + "\"; Ed25519 is supported");
    std::string x = member_b64(jwk, "x", true);
    if (x.size() != 32) key_invalid("Ed25519 JWK \"x\" must be 32 bytes");
    EVP_PKEY *raw = nullptr;
    if (want_private) {
      std::string d = member_b64(jwk, "d", true);
      if (d.size() != 32) key_invalid("Ed25519 JWK \"d\" must be 32 bytes");
      raw = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char *>(d.data()), 32);
      OPENSSL_cleanse(d.data(), d.size());
      // The private key determines x: a JWK whose x disagrees is corrupt.
      unsigned char pub[32];
      size_t plen = sizeof pub;
      if (raw && (EVP_PKEY_get_raw_public_key(raw, pub, &plen) != 1 || plen != 32 || std::memcmp(pub, x.data(), 32) != 0)) {
        EVP_PKEY_free(raw);
        key_invalid("Ed25519 JWK \"x\" does not match \"d\"");
      }
    } else {
      raw = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char *>(x.data()), 32);
    }
    if (!raw) { ERR_clear_error(); key_invalid("unusable Ed25519 JWK"); }
    key = key_from_pkey(Pkey(raw), want_private);
  } else {
    throw Unusable{"JWK \"kty\" is not oct, RSA, EC or OKP"};
  }
  auto *mk = const_cast<Key *>(key.get());
  mk->kid = kid;
  mk->pinned = pinned;
  if (pinned && !mk->supports(*pinned)) {
    if (mk->type == Key::Type::kOct && alg_name(*pinned)[0] == 'H')
      key_invalid("hmac key shorter than the hash output",
                  "the key has " + std::to_string(mk->secret.size()) + " bytes; " + alg_name(*pinned) + " needs at least " +
                      std::to_string(hash_bytes(static_cast<int>(*pinned))));
    key_invalid("JWK \"alg\" does not fit the key", std::string("alg ") + alg_name(*pinned));
  }
  return key;
}

}  // namespace

KeySet parse_keys(std::string_view key_text, KeyPurpose purpose) {
  KeySet set;
  if (key_text.empty()) key_invalid("empty key");
  if (key_text.size() > kMaxKeyText) key_invalid("key text exceeds 1 MiB");
  // PEM and JWK texts are recognised whatever whitespace surrounds them, and one
  // holding a PEM block or a JWK elsewhere is refused: a public key must never
  // become an HMAC secret (docs/jwt.md, "Key texts").
  jwt_keyset::KeyText kt = jwt_keyset::classify_key_text(key_text);
  std::string_view text = kt.text;
  if (kt.kind == jwt_keyset::KeyTextKind::kPem) {
    set.keys.push_back(parse_pem(text, purpose));
    return set;
  }
  if (kt.kind == jwt_keyset::KeyTextKind::kSecret) {
    set.keys.push_back(primitive::hmac_key(text));
    return set;
  }
  json doc;
  auto problem = jwt_json::parse(text, doc);
  if (problem != jwt_json::Problem::kNone) key_invalid(std::string("JWK: ") + jwt_json::describe(problem));
  auto keys = doc.find("keys");
  if (keys == doc.end()) {
    try {
      set.keys.push_back(parse_jwk(doc, purpose));
    } catch (const Unusable &u) {
      key_invalid("JWK not usable for signatures", u.why);
    }
    return set;
  }
  set.is_set = true;
  if (!keys->is_array()) key_invalid("JWKS member \"keys\" is not an array");
  std::set<std::string> kids;
  bool symmetric = false, asymmetric = false;
  size_t i = 0;
  for (const auto &jwk : *keys) {
    KeyPtr k;
    try {
      k = parse_jwk(jwk, purpose);
    } catch (const Unusable &) {
      i++;
      continue;  // e.g. an encryption key published beside the signing keys
    } catch (const nova::Error &e) {
      throw nova::Error(e.sqlstate(), e.what(), "keys[" + std::to_string(i) + "]" + (e.detail().empty() ? "" : ": " + e.detail()));
    }
    i++;
    if (k->kid && !kids.insert(*k->kid).second) key_invalid("JWKS has two keys with the same kid", "kid \"" + *k->kid + "\"");
    (k->type == Key::Type::kOct ? symmetric : asymmetric) = true;
    set.keys.push_back(std::move(k));
  }
  if (symmetric && asymmetric) key_invalid("JWKS mixes symmetric and asymmetric keys");
  return set;
}

namespace primitive {
KeyPtr public_key_from_der(std::string_view der) {
  const auto *p = reinterpret_cast<const unsigned char *>(der.data());
  EVP_PKEY *raw = d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size()));
  if (!raw) { ERR_clear_error(); key_invalid("unreadable DER public key"); }
  if (p != reinterpret_cast<const unsigned char *>(der.data()) + der.size()) {
    EVP_PKEY_free(raw);
    key_invalid("trailing bytes after DER public key");
  }
  return key_from_pkey(Pkey(raw), false);
}
}  // namespace primitive

}  // namespace nova::jwt
