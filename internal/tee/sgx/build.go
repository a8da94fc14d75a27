package sgx

// BuildHelp says how to build confed with SGX support. The default build
// returns it (as ErrNotBuilt) from NewIssuer and NewVerifier.
const BuildHelp = "sgx: this binary was built without SGX support; build with: " +
	"install EGo (https://docs.edgeless.systems/ego, which brings ego-go, ego sign and Open Enclave under /opt/ego); " +
	"for the aggregator enclave run `GOTOOLCHAIN=local ego-go build -tags ego,ego_enclave -o confed-aggregator ./cmd/confed-aggregator`, " +
	"then `ego sign confed-aggregator` (with an enclave.json whose \"debug\" is false) and start it with `ego run confed-aggregator`; " +
	"verifying SGX evidence outside an enclave (coordinator, participants, the confed CLI) needs the Open Enclave verification libraries through cgo: " +
	"`CGO_ENABLED=1 CGO_CFLAGS=-I/opt/ego/include CGO_LDFLAGS=-L/opt/ego/lib go build -tags ego ./cmd/...` with EGo and libssl-dev installed"
