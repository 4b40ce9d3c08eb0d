// The mocks live in tools/harness/ so that the tests and the offline plan (tools/plan/) share one
// implementation; this module keeps the tests' import path.
export * from "../../tools/harness/mocks";
