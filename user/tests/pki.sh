# Test keys and certificates (tls.sh, migrate.sh), made with openssl at
# test time in $P (under $WORK: removed with it, never kept).
#
# ca NAME: a CA; cert CA NAME SAN [DAYS [TRUST]]: a key and certificate
# CA signs, as the credentials directory $P/NAME (kmig --tls-creds), which
# trusts TRUST (default: CA). make_pki: the set the tests use.
P=${P:-$WORK/pki}

ca() {
	mkdir -p "$P/$1"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$1" -keyout "$P/$1/ca.key" -out "$P/$1/ca.pem" 2>/dev/null
}

cert() {
	local d=$P/$2
	mkdir -p "$d"
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$2" \
		-addext "subjectAltName=$3" -keyout "$d/key.pem" -out "$d/req.csr" 2>/dev/null &&
	openssl x509 -req -in "$d/req.csr" -CA "$P/$1/ca.pem" -CAkey "$P/$1/ca.key" \
		-copy_extensions copy -days "${4:-2}" -out "$d/cert.pem" 2>/dev/null &&
	cp "$P/${5:-$1}/ca.pem" "$d/ca-cert.pem"
}

# dst (the receiver: dst.test, 127.0.0.1), src (src.test), psk, psk2;
# mallory (the same CA), stranger (another CA), expired.
make_pki() {
	(umask 077
	ca ca && ca otherca &&
	cert ca dst "DNS:dst.test,IP:127.0.0.1" && cert ca src "DNS:src.test" &&
	cert ca mallory "DNS:mallory.test" && cert otherca stranger "DNS:src.test" 2 ca &&
	cert ca expired "DNS:src.test" -1 &&
	openssl rand -hex 32 >"$P/psk" && openssl rand -hex 32 >"$P/psk2") ||
		{ echo "# openssl could not make the test PKI"; return 1; }
}
