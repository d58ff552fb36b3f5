package profile

// NewCode exposes the code generator to the tests.
var NewCode = newCode
