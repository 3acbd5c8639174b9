module tilelog.dev/tools/go-x509

go 1.19
