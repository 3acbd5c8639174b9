// Command go-x509 crafts SubjectPublicKeyInfo and certificate encodings, good and bad, and
// records the verdict Go's crypto/x509 gives each (ParsePKIXPublicKey, ParseCertificate), which is
// how rekor-tiles reads the keys of hashedrekord entries. It writes the table as JSON on stdout:
//
//	(cd tools/go-x509 && go run .) > spec-vectors/go-x509/x509_verdicts.json
//
// Standard library only; tilelog's tests read the committed table and never run this program.
package main

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"os"
	"runtime"
	"time"
)

type verdict struct {
	OK    bool   `json:"ok"`
	Key   string `json:"key,omitempty"`
	Error string `json:"error,omitempty"`
}

type tcase struct {
	Name string  `json:"name"`
	Kind string  `json:"kind"` // "spki" or "certificate"
	DER  string  `json:"der"`  // base64
	Go   verdict `json:"go"`
}

var cases []tcase

func keyName(k any) string {
	switch k := k.(type) {
	case *ecdsa.PublicKey:
		return "ecdsa " + k.Curve.Params().Name
	case *rsa.PublicKey:
		return fmt.Sprintf("rsa %d", k.N.BitLen())
	case ed25519.PublicKey:
		return "ed25519"
	case nil:
		return "unknown"
	}
	return fmt.Sprintf("%T", k)
}

func addSPKI(name string, der []byte) {
	k, err := x509.ParsePKIXPublicKey(der)
	v := verdict{OK: err == nil}
	if err != nil {
		v.Error = err.Error()
	} else {
		v.Key = keyName(k)
	}
	cases = append(cases, tcase{name, "spki", base64.StdEncoding.EncodeToString(der), v})
}

func addCert(name string, der []byte) {
	c, err := x509.ParseCertificate(der)
	v := verdict{OK: err == nil}
	if err != nil {
		v.Error = err.Error()
	} else {
		v.Key = keyName(c.PublicKey)
	}
	cases = append(cases, tcase{name, "certificate", base64.StdEncoding.EncodeToString(der), v})
}

// DER building blocks.

func length(n int) []byte {
	if n < 0x80 {
		return []byte{byte(n)}
	}
	var b []byte
	for ; n > 0; n >>= 8 {
		b = append([]byte{byte(n)}, b...)
	}
	return append([]byte{0x80 | byte(len(b))}, b...)
}

func tlv(tag byte, parts ...[]byte) []byte {
	var body []byte
	for _, p := range parts {
		body = append(body, p...)
	}
	return append(append([]byte{tag}, length(len(body))...), body...)
}

func seq(parts ...[]byte) []byte { return tlv(0x30, parts...) }

func oid(ints ...int) []byte {
	b, err := asn1.Marshal(asn1.ObjectIdentifier(ints))
	must(err)
	return b
}

func bitString(unused byte, b []byte) []byte { return tlv(0x03, append([]byte{unused}, b...)) }

func integer(n *big.Int) []byte {
	b, err := asn1.Marshal(n)
	must(err)
	return b
}

var null = []byte{0x05, 0x00}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// elements splits the contents of a DER SEQUENCE (well-formed input) into its elements.
func elements(der []byte) (tag byte, elems [][]byte) {
	var raw asn1.RawValue
	_, err := asn1.Unmarshal(der, &raw)
	must(err)
	rest := raw.Bytes
	for len(rest) > 0 {
		var e asn1.RawValue
		rest, err = asn1.Unmarshal(rest, &e)
		must(err)
		elems = append(elems, e.FullBytes)
	}
	return der[0], elems
}

var (
	oidEC      = []int{1, 2, 840, 10045, 2, 1}
	oidP256    = []int{1, 2, 840, 10045, 3, 1, 7}
	oidRSA     = []int{1, 2, 840, 113549, 1, 1, 1}
	oidRSAPSS  = []int{1, 2, 840, 113549, 1, 1, 10}
	oidEd25519 = []int{1, 3, 101, 112}
)

func main() {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	p521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)

	spkiCases(p256, p384, p521, p224, rsa2048, rsa1024, edPub)
	certCases(p256, rsa2048, edPriv)

	out := map[string]any{
		"generator":  "tools/go-x509/main.go (tilelog)",
		"go_version": runtime.Version(),
		"functions":  "crypto/x509.ParsePKIXPublicKey (kind spki), crypto/x509.ParseCertificate (kind certificate)",
		"cases":      cases,
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	must(enc.Encode(out))
}

func marshal(pub any) []byte {
	b, err := x509.MarshalPKIXPublicKey(pub)
	must(err)
	return b
}

func spkiCases(p256, p384, p521, p224 *ecdsa.PrivateKey, r2048, r1024 *rsa.PrivateKey, ed ed25519.PublicKey) {
	good := marshal(&p256.PublicKey)
	addSPKI("ec p256 uncompressed", good)
	addSPKI("ec p384 uncompressed", marshal(&p384.PublicKey))
	addSPKI("ec p521 uncompressed", marshal(&p521.PublicKey))
	addSPKI("ec p224 uncompressed", marshal(&p224.PublicKey))
	addSPKI("rsa 2048", marshal(&r2048.PublicKey))
	addSPKI("rsa 1024", marshal(&r1024.PublicKey))
	addSPKI("ed25519", marshal(ed))

	ecAlg := seq(oid(oidEC...), oid(oidP256...))
	point := elliptic.Marshal(elliptic.P256(), p256.X, p256.Y)
	ec := func(alg, pt []byte) []byte { return seq(alg, bitString(0, pt)) }
	addSPKI("ec p256 rebuilt (same bytes as marshalled)", ec(ecAlg, point))
	addSPKI("ec p256 compressed point", ec(ecAlg, elliptic.MarshalCompressed(elliptic.P256(), p256.X, p256.Y)))
	hybrid := append([]byte{}, point...)
	hybrid[0] = 6 | byte(p256.Y.Bit(0))
	addSPKI("ec p256 hybrid point (06/07)", ec(ecAlg, hybrid))
	off := append([]byte{}, point...)
	off[64] ^= 1
	addSPKI("ec p256 point not on the curve", ec(ecAlg, off))
	big := append([]byte{4}, make([]byte, 64)...)
	for i := 1; i <= 32; i++ {
		big[i] = 0xff
	}
	addSPKI("ec p256 x coordinate >= p", ec(ecAlg, big))
	addSPKI("ec p256 point at infinity (00)", ec(ecAlg, []byte{0}))
	addSPKI("ec p256 point one byte short", ec(ecAlg, point[:64]))
	addSPKI("ec p256 point one byte long", ec(ecAlg, append(append([]byte{}, point...), 0)))
	addSPKI("ec p256 bit string with 1 unused bit", seq(ecAlg, bitString(1, point[:64])))
	addSPKI("ec p256 empty bit string", seq(ecAlg, []byte{0x03, 0x00}))
	addSPKI("ec trailing byte after the SPKI", append(append([]byte{}, good...), 0))
	addSPKI("ec trailing SEQUENCE after the SPKI", append(append([]byte{}, good...), 0x30, 0x00))
	addSPKI("ec extra element inside the SPKI SEQUENCE", seq(ecAlg, bitString(0, point), null))
	addSPKI("ec extra element inside the AlgorithmIdentifier", ec(seq(oid(oidEC...), oid(oidP256...), null), point))
	addSPKI("ec curve parameters missing", ec(seq(oid(oidEC...)), point))
	addSPKI("ec curve parameters NULL", ec(seq(oid(oidEC...), null), point))
	addSPKI("ec curve secp256k1", ec(seq(oid(oidEC...), oid(1, 3, 132, 0, 10)), point))
	addSPKI("ec wrong algorithm OID (1.2.840.10045.2.2)", ec(seq(oid(1, 2, 840, 10045, 2, 2), oid(oidP256...)), point))
	addSPKI("ec algorithm OID with a non-minimal subidentifier", ec(seq([]byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x80, 0x01}, oid(oidP256...)), point))
	// Non-minimal and indefinite lengths.
	nonMin := append([]byte{0x30, 0x81, 0x59}, good[2:]...)
	addSPKI("ec outer length in long form (81 59)", nonMin)
	addSPKI("ec outer length with a leading zero (82 00 59)", append([]byte{0x30, 0x82, 0x00, 0x59}, good[2:]...))
	innerNonMin := seq(ecAlg, append([]byte{0x03, 0x81, 0x42}, append([]byte{0}, point...)...))
	addSPKI("ec bit string length in long form", innerNonMin)
	addSPKI("ec indefinite outer length", append(append([]byte{0x30, 0x80}, good[2:]...), 0, 0))
	setTag := append([]byte{}, good...)
	setTag[0] = 0x31
	addSPKI("ec outer tag SET instead of SEQUENCE", setTag)
	addSPKI("ec length longer than the input", good[:len(good)-1])

	// RSA.
	rsaKey := r2048.PublicKey
	pkcs1 := x509.MarshalPKCS1PublicKey(&rsaKey)
	rsaSPKI := func(alg []byte, key []byte) []byte { return seq(alg, bitString(0, key)) }
	rsaAlg := seq(oid(oidRSA...), null)
	addSPKI("rsa 2048 rebuilt (same bytes as marshalled)", rsaSPKI(rsaAlg, pkcs1))
	addSPKI("rsa without NULL parameters", rsaSPKI(seq(oid(oidRSA...)), pkcs1))
	addSPKI("rsa with an OID as parameters", rsaSPKI(seq(oid(oidRSA...), oid(oidP256...)), pkcs1))
	addSPKI("rsa-pss algorithm OID", rsaSPKI(seq(oid(oidRSAPSS...)), pkcs1))
	addSPKI("rsa bare PKCS#1 RSAPublicKey (not an SPKI)", pkcs1)
	e := integer(new(bigInt).SetInt64(int64(rsaKey.E)))
	n := integer(rsaKey.N)
	addSPKI("rsa trailing byte inside the bit string", rsaSPKI(rsaAlg, append(append([]byte{}, pkcs1...), 0)))
	addSPKI("rsa extra element inside RSAPublicKey", rsaSPKI(rsaAlg, seq(n, e, null)))
	addSPKI("rsa exponent 0", rsaSPKI(rsaAlg, seq(n, integer(new(bigInt)))))
	addSPKI("rsa exponent -3", rsaSPKI(rsaAlg, seq(n, integer(new(bigInt).SetInt64(-3)))))
	addSPKI("rsa exponent 1", rsaSPKI(rsaAlg, seq(n, integer(new(bigInt).SetInt64(1)))))
	addSPKI("rsa exponent 2^64+1", rsaSPKI(rsaAlg, seq(n, integer(new(bigInt).Add(new(bigInt).Lsh(new(bigInt).SetInt64(1), 64), new(bigInt).SetInt64(1))))))
	addSPKI("rsa negative modulus", rsaSPKI(rsaAlg, seq(integer(new(bigInt).Neg(rsaKey.N)), e)))
	padded := append([]byte{0x02, 0x82, 0x01, 0x02, 0x00}, n[4:]...)
	addSPKI("rsa modulus with a redundant leading zero", rsaSPKI(rsaAlg, seq(padded, e)))
	addSPKI("rsa modulus missing", rsaSPKI(rsaAlg, seq(e)))

	// Ed25519.
	edAlg := seq(oid(oidEd25519...))
	addSPKI("ed25519 rebuilt (same bytes as marshalled)", seq(edAlg, bitString(0, ed)))
	addSPKI("ed25519 with NULL parameters", seq(seq(oid(oidEd25519...), null), bitString(0, ed)))
	addSPKI("ed25519 key 31 bytes", seq(edAlg, bitString(0, ed[:31])))
	addSPKI("ed25519 key 33 bytes", seq(edAlg, bitString(0, append(append([]byte{}, ed...), 0))))
	addSPKI("ed25519 trailing byte after the SPKI", append(marshal(ed), 0))

	// Not DER at all.
	addSPKI("empty input", []byte{})
	addSPKI("one byte", []byte{0x30})
	addSPKI("PEM text", []byte("-----BEGIN PUBLIC KEY-----\n"))
}

type bigInt = big.Int

func template(serial *big.Int) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "tilelog x509 vector"},
		NotBefore:    time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2036, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
}

func certCases(p256 *ecdsa.PrivateKey, r2048 *rsa.PrivateKey, ed ed25519.PrivateKey) {
	mk := func(pub any, priv crypto.Signer) []byte {
		der, err := x509.CreateCertificate(rand.Reader, template(big.NewInt(42)), template(big.NewInt(42)), pub, priv)
		must(err)
		return der
	}
	good := mk(&p256.PublicKey, p256)
	addCert("p256 self-signed", good)
	addCert("rsa 2048 self-signed", mk(&r2048.PublicKey, r2048))
	addCert("ed25519 self-signed", mk(ed.Public(), ed))

	_, top := elements(good) // tbs, sigAlg, signature
	_, tbs := elements(top[0])
	// tbs: [0] version, serial, signature, issuer, validity, subject, spki, [3] extensions
	rebuild := func(f func(t [][]byte) [][]byte) []byte {
		t := f(append([][]byte{}, tbs...))
		return seq(seq(t...), top[1], top[2])
	}
	addCert("p256 rebuilt (same bytes)", rebuild(func(t [][]byte) [][]byte { return t }))
	addCert("trailing byte after the certificate", append(append([]byte{}, good...), 0))
	addCert("extra element after the signature", seq(top[0], top[1], top[2], null))
	addCert("signature missing", seq(top[0], top[1]))
	addCert("outer length in long form", append([]byte{0x30, 0x83, 0x00}, good[2:]...))
	point := elliptic.MarshalCompressed(elliptic.P256(), p256.X, p256.Y)
	ecAlg := seq(oid(oidEC...), oid(oidP256...))
	addCert("compressed p256 key", rebuild(func(t [][]byte) [][]byte {
		t[6] = seq(ecAlg, bitString(0, point))
		return t
	}))
	addCert("spki with an extra element", rebuild(func(t [][]byte) [][]byte {
		_, s := elements(t[6])
		t[6] = seq(s[0], s[1], null)
		return t
	}))
	rsaKey := r2048.PublicKey
	addCert("rsa key without NULL parameters", rebuild(func(t [][]byte) [][]byte {
		t[6] = seq(seq(oid(oidRSA...)), bitString(0, x509.MarshalPKCS1PublicKey(&rsaKey)))
		return t
	}))
	addCert("unknown key algorithm (1.2.3.4)", rebuild(func(t [][]byte) [][]byte {
		t[6] = seq(seq(oid(1, 2, 3, 4)), bitString(0, []byte{1, 2, 3}))
		return t
	}))
	addCert("version 4 (INTEGER 3)", rebuild(func(t [][]byte) [][]byte {
		t[0] = tlv(0xa0, integer(big.NewInt(3)))
		return t
	}))
	addCert("version field absent (v1) with extensions", rebuild(func(t [][]byte) [][]byte {
		return t[1:]
	}))
	addCert("negative serial", rebuild(func(t [][]byte) [][]byte {
		t[1] = integer(big.NewInt(-42))
		return t
	}))
	addCert("serial with a redundant leading zero", rebuild(func(t [][]byte) [][]byte {
		t[1] = []byte{0x02, 0x02, 0x00, 0x2a}
		return t
	}))
	addCert("inner signature algorithm differs from the outer", rebuild(func(t [][]byte) [][]byte {
		t[2] = seq(oid(1, 2, 840, 10045, 4, 3, 3))
		return t
	}))
	addCert("duplicate extension", rebuild(func(t [][]byte) [][]byte {
		_, x := elements(t[7])
		_, exts := elements(x[0])
		exts = append(exts, exts[0])
		t[7] = tlv(0xa3, seq(exts...))
		return t
	}))
	addCert("validity UTCTime without seconds", rebuild(func(t [][]byte) [][]byte {
		t[4] = seq(tlv(0x17, []byte("2601010000Z")), tlv(0x17, []byte("3601010000Z")))
		return t
	}))
	addCert("validity UTCTime with an offset", rebuild(func(t [][]byte) [][]byte {
		t[4] = seq(tlv(0x17, []byte("260101000000+0100")), tlv(0x17, []byte("360101000000Z")))
		return t
	}))
	addCert("validity GeneralizedTime for 2036", rebuild(func(t [][]byte) [][]byte {
		t[4] = seq(tlv(0x17, []byte("260101000000Z")), tlv(0x18, []byte("20360101000000Z")))
		return t
	}))
	addCert("subject is not a SEQUENCE", rebuild(func(t [][]byte) [][]byte {
		t[5] = null
		return t
	}))
	addCert("extensions not in [3]", rebuild(func(t [][]byte) [][]byte {
		_, x := elements(t[7])
		t[7] = x[0]
		return t
	}))
	addCert("empty input", []byte{})
}
