// Signature primitives over OpenSSL 3 EVP: HMAC, RSASSA-PKCS1-v1_5, RSASSA-PSS,
// ECDSA (JOSE r‖s ⇄ DER), Ed25519. No hand-written cryptography.
#define NOVA_CORE_TRANSLATION_UNIT 1
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <memory>

#include "core/jwt.h"
#include "core/jwt_internal.h"

namespace nova::jwt {
using namespace internal;

namespace {

struct MdCtxFree { void operator()(EVP_MD_CTX *p) const { EVP_MD_CTX_free(p); } };
struct MacCtxFree { void operator()(EVP_MAC_CTX *p) const { EVP_MAC_CTX_free(p); } };
struct SigFree { void operator()(ECDSA_SIG *p) const { ECDSA_SIG_free(p); } };
struct BnFree { void operator()(BIGNUM *p) const { BN_free(p); } };
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using Bn = std::unique_ptr<BIGNUM, BnFree>;

enum class Family { kHmac, kRsa, kPss, kEcdsa, kEdDsa };

Family family(Alg a) {
  switch (a) {
    case Alg::HS256: case Alg::HS384: case Alg::HS512: return Family::kHmac;
    case Alg::RS256: case Alg::RS384: case Alg::RS512: return Family::kRsa;
    case Alg::PS256: case Alg::PS384: case Alg::PS512: return Family::kPss;
    case Alg::ES256: case Alg::ES384: case Alg::ES512: return Family::kEcdsa;
    case Alg::EdDSA: return Family::kEdDsa;
  }
  return Family::kHmac;
}

int hash_bits(Alg a) {
  switch (a) {
    case Alg::HS256: case Alg::RS256: case Alg::PS256: case Alg::ES256: return 256;
    case Alg::HS384: case Alg::RS384: case Alg::PS384: case Alg::ES384: return 384;
    case Alg::HS512: case Alg::RS512: case Alg::PS512: case Alg::ES512: return 512;
    case Alg::EdDSA: return 0;
  }
  return 0;
}

// Message digests fetched once per process (implicit fetches cost on every call).
const EVP_MD *digest(int bits) {
  static EVP_MD *md256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static EVP_MD *md384 = EVP_MD_fetch(nullptr, "SHA384", nullptr);
  static EVP_MD *md512 = EVP_MD_fetch(nullptr, "SHA512", nullptr);
  switch (bits) {
    case 256: return md256;
    case 384: return md384;
    case 512: return md512;
  }
  return nullptr;
}

EVP_MAC *hmac_mac() {
  static EVP_MAC *mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

// Curve order of P-256/384/521, for the r, s range check.
const BIGNUM *curve_order(int curve) {
  static EC_GROUP *g256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
  static EC_GROUP *g384 = EC_GROUP_new_by_curve_name(NID_secp384r1);
  static EC_GROUP *g521 = EC_GROUP_new_by_curve_name(NID_secp521r1);
  EC_GROUP *g = curve == 256 ? g256 : curve == 384 ? g384 : curve == 521 ? g521 : nullptr;
  return g ? EC_GROUP_get0_order(g) : nullptr;
}

int alg_curve(Alg a) { return a == Alg::ES256 ? 256 : a == Alg::ES384 ? 384 : a == Alg::ES512 ? 521 : 0; }
size_t curve_bytes(int curve) { return curve == 521 ? 66 : static_cast<size_t>(curve / 8); }

int mac_slot(Alg alg) { return alg == Alg::HS256 ? 0 : alg == Alg::HS384 ? 1 : 2; }

// A fresh HMAC context keyed with `secret` for `alg`'s hash.
EVP_MAC_CTX *new_hmac_ctx(const std::string &secret, Alg alg) {
  EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac_mac());
  if (!ctx) return nullptr;
  const char *name = EVP_MD_get0_name(digest(hash_bits(alg)));
  OSSL_PARAM params[2] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char *>(name), 0),
                          OSSL_PARAM_construct_end()};
  // An empty secret is legal HMAC input but OpenSSL wants a non-null pointer.
  static const unsigned char kEmpty[1] = {0};
  const unsigned char *k = secret.empty() ? kEmpty : reinterpret_cast<const unsigned char *>(secret.data());
  if (EVP_MAC_init(ctx, k, secret.size(), params) != 1) {
    EVP_MAC_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

bool hmac(const Key &key, Alg alg, std::string_view msg, unsigned char *out, size_t *outlen) {
  const auto *m = reinterpret_cast<const unsigned char *>(msg.data());
  EVP_MAC_CTX *keyed = key.mac[mac_slot(alg)];
  // Re-initialising the keyed context without a key resets it to the keyed state (OpenSSL 3:
  // HMAC_Init_ex with a NULL key), so nothing is allocated or fetched per call. A Key is used by
  // one thread only (see jwt.h), and every call starts with this reset.
  if (keyed && EVP_MAC_init(keyed, nullptr, 0, nullptr) == 1 && EVP_MAC_update(keyed, m, msg.size()) == 1 &&
      EVP_MAC_final(keyed, out, outlen, EVP_MAX_MD_SIZE) == 1)
    return true;
  ERR_clear_error();
  // Fallback: a copy of the keyed context, or a fresh one.
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(keyed ? EVP_MAC_CTX_dup(keyed) : new_hmac_ctx(key.secret, alg));
  if (!ctx) return false;
  if (EVP_MAC_update(ctx.get(), m, msg.size()) != 1) return false;
  return EVP_MAC_final(ctx.get(), out, outlen, EVP_MAX_MD_SIZE) == 1;
}

bool setup_pss(EVP_PKEY_CTX *pctx, const EVP_MD *md) {
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0 && EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) > 0;
}

bool key_matches(const Key &key, Alg alg) {
  switch (family(alg)) {
    case Family::kHmac: return key.type == Key::Type::kOct;
    case Family::kRsa: case Family::kPss: return key.type == Key::Type::kRSA && key.pkey;
    case Family::kEcdsa: return key.type == Key::Type::kEC && key.pkey && key.curve == alg_curve(alg);
    case Family::kEdDsa: return key.type == Key::Type::kOKP && key.pkey && key.curve == 25519;
  }
  return false;
}

}  // namespace

// One EVP_PKEY_CTX per algorithm, initialised for verification with its padding and digest,
// reused for every signature (EVP_PKEY_verify over the message digest), as `openssl speed` does.
void internal::prepare_verify(Key &key) {
  auto make = [&](Alg alg) -> EVP_PKEY_CTX * {
    EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(nullptr, key.pkey, nullptr);
    const EVP_MD *md = digest(hash_bits(alg));
    bool ok = c && EVP_PKEY_verify_init(c) == 1 && EVP_PKEY_CTX_set_signature_md(c, md) > 0;
    if (ok && family(alg) == Family::kPss) ok = setup_pss(c, md);
    if (!ok) {
      EVP_PKEY_CTX_free(c);
      ERR_clear_error();
      return nullptr;
    }
    return c;
  };
  if (key.type == Key::Type::kRSA) {
    for (int i = 0; i < 6; i++) key.vctx[i] = make(static_cast<Alg>(static_cast<int>(Alg::RS256) + i));
  } else if (key.type == Key::Type::kEC) {
    key.vctx[0] = make(key.curve == 256 ? Alg::ES256 : key.curve == 384 ? Alg::ES384 : Alg::ES512);
  }
}

// Verifies `sig` over SHA-2(msg) with a prepared context.
bool verify_prepared(EVP_PKEY_CTX *c, Alg alg, std::string_view msg, const unsigned char *sig, size_t siglen) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (EVP_Digest(msg.data(), msg.size(), md, &mdlen, digest(hash_bits(alg)), nullptr) != 1) return false;
  int r = EVP_PKEY_verify(c, sig, siglen, md, mdlen);
  if (r != 1) ERR_clear_error();
  return r == 1;
}

size_t internal::hash_bytes(int alg_index) { return static_cast<size_t>(hash_bits(static_cast<Alg>(alg_index)) / 8); }

Key::~Key() {
  EVP_PKEY_free(pkey);
  for (auto *m : mac) EVP_MAC_CTX_free(m);
  for (auto *c : vctx) EVP_PKEY_CTX_free(c);
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
}

bool Key::supports(Alg alg) const {
  if (!key_matches(*this, alg)) return false;
  if (pinned && *pinned != alg) return false;
  if (family(alg) == Family::kHmac && secret.size() * 8 < static_cast<size_t>(hash_bits(alg))) return false;
  return true;
}

namespace primitive {

KeyPtr hmac_key(std::string_view secret) {
  auto k = std::make_shared<Key>();
  k->type = Key::Type::kOct;
  k->secret.assign(secret.data(), secret.size());
  k->bits = static_cast<int>(secret.size() * 8);
  k->has_private = true;
  for (Alg a : {Alg::HS256, Alg::HS384, Alg::HS512}) k->mac[mac_slot(a)] = new_hmac_ctx(k->secret, a);
  return k;
}

bool verify(const Key &key, Alg alg, std::string_view msg, std::string_view sig) {
  if (!key_matches(key, alg)) return false;
  const auto *m = reinterpret_cast<const unsigned char *>(msg.data());
  const auto *s = reinterpret_cast<const unsigned char *>(sig.data());
  switch (family(alg)) {
    case Family::kHmac: {
      unsigned char tag[EVP_MAX_MD_SIZE];
      size_t n = 0;
      if (!hmac(key, alg, msg, tag, &n)) return false;
      bool ok = sig.size() == n && CRYPTO_memcmp(tag, s, n) == 0;
      OPENSSL_cleanse(tag, sizeof tag);
      return ok;
    }
    case Family::kRsa:
    case Family::kPss: {
      if (sig.size() != static_cast<size_t>(EVP_PKEY_get_size(key.pkey))) return false;
      if (EVP_PKEY_CTX *c = key.vctx[static_cast<int>(alg) - static_cast<int>(Alg::RS256)])
        return verify_prepared(c, alg, msg, s, sig.size());
      MdCtx ctx(EVP_MD_CTX_new());
      EVP_PKEY_CTX *pctx = nullptr;
      const EVP_MD *md = digest(hash_bits(alg));
      if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, md, nullptr, key.pkey) != 1) return false;
      if (family(alg) == Family::kPss && !setup_pss(pctx, md)) return false;
      return EVP_DigestVerify(ctx.get(), s, sig.size(), m, msg.size()) == 1;
    }
    case Family::kEcdsa: {
      size_t nb = curve_bytes(key.curve);
      if (sig.size() != 2 * nb) return false;
      Bn r(BN_bin2bn(s, static_cast<int>(nb), nullptr)), ss(BN_bin2bn(s + nb, static_cast<int>(nb), nullptr));
      const BIGNUM *order = curve_order(key.curve);
      if (!r || !ss || !order) return false;
      if (BN_is_zero(r.get()) || BN_is_zero(ss.get()) || BN_cmp(r.get(), order) >= 0 || BN_cmp(ss.get(), order) >= 0)
        return false;
      std::unique_ptr<ECDSA_SIG, SigFree> es(ECDSA_SIG_new());
      if (!es || ECDSA_SIG_set0(es.get(), r.get(), ss.get()) != 1) return false;
      r.release();
      ss.release();
      unsigned char der[160];  // P-521: 2 × (2 + 67) + 3 bytes at most
      unsigned char *p = der;
      int dlen = i2d_ECDSA_SIG(es.get(), nullptr);
      if (dlen <= 0 || dlen > static_cast<int>(sizeof der)) return false;
      dlen = i2d_ECDSA_SIG(es.get(), &p);
      if (key.vctx[0]) return verify_prepared(key.vctx[0], alg, msg, der, static_cast<size_t>(dlen));
      MdCtx ctx(EVP_MD_CTX_new());
      if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, digest(hash_bits(alg)), nullptr, key.pkey) != 1) return false;
      return EVP_DigestVerify(ctx.get(), der, static_cast<size_t>(dlen), m, msg.size()) == 1;
    }
    case Family::kEdDsa: {
      if (sig.size() != 64) return false;
      MdCtx ctx(EVP_MD_CTX_new());
      if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.pkey) != 1) return false;
      return EVP_DigestVerify(ctx.get(), s, sig.size(), m, msg.size()) == 1;
    }
  }
  return false;
}

std::string sign(const Key &key, Alg alg, std::string_view msg) {
  if (!key_matches(key, alg)) key_invalid("key does not fit the algorithm");
  if (family(alg) != Family::kHmac && !key.has_private) key_invalid("signing needs a private key");
  const auto *m = reinterpret_cast<const unsigned char *>(msg.data());
  auto crypto_fail = [] { fail("jwt signing failed"); };
  switch (family(alg)) {
    case Family::kHmac: {
      unsigned char tag[EVP_MAX_MD_SIZE];
      size_t n = 0;
      if (!hmac(key, alg, msg, tag, &n)) crypto_fail();
      return std::string(reinterpret_cast<char *>(tag), n);
    }
    case Family::kRsa:
    case Family::kPss:
    case Family::kEcdsa:
    case Family::kEdDsa: {
      MdCtx ctx(EVP_MD_CTX_new());
      EVP_PKEY_CTX *pctx = nullptr;
      const EVP_MD *md = family(alg) == Family::kEdDsa ? nullptr : digest(hash_bits(alg));
      if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, md, nullptr, key.pkey) != 1) crypto_fail();
      if (family(alg) == Family::kPss && !setup_pss(pctx, md)) crypto_fail();
      size_t len = 0;
      if (EVP_DigestSign(ctx.get(), nullptr, &len, m, msg.size()) != 1) crypto_fail();
      std::string out(len, '\0');
      auto *o = reinterpret_cast<unsigned char *>(out.data());
      if (EVP_DigestSign(ctx.get(), o, &len, m, msg.size()) != 1) crypto_fail();
      out.resize(len);
      if (family(alg) != Family::kEcdsa) return out;
      // DER ECDSA-Sig-Value → fixed-length r‖s (RFC 7518 §3.4).
      const unsigned char *p = o;
      std::unique_ptr<ECDSA_SIG, SigFree> es(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
      if (!es) crypto_fail();
      size_t nb = curve_bytes(key.curve);
      std::string raw(2 * nb, '\0');
      auto *rp = reinterpret_cast<unsigned char *>(raw.data());
      if (BN_bn2binpad(ECDSA_SIG_get0_r(es.get()), rp, static_cast<int>(nb)) < 0 ||
          BN_bn2binpad(ECDSA_SIG_get0_s(es.get()), rp + nb, static_cast<int>(nb)) < 0)
        crypto_fail();
      return raw;
    }
  }
  crypto_fail();
  return {};
}

}  // namespace primitive
}  // namespace nova::jwt
