// Package yamlcfg decodes confed's YAML configuration files strictly and
// remembers where every key was written, so that each error, whether found
// while decoding or later by a Validate method, names the file, the line, the
// key and what was expected:
//
//	federation.yaml:12: training.learning_rate: must be > 0, got -0.1
//	federation.yaml:7: participants.minimum: unknown key (did you mean "min"?)
//	federation.yaml:3: rounds: expected an integer, got "ten"
//
// Decode rejects unknown and duplicate keys, values of the wrong type, empty
// values, files with no document or with more than one, and YAML merge keys.
// Keys that a file does not mention keep the value the target already had,
// which is how every config type overlays its file on its Default().
//
// The package also holds the value types shared by confed's config files:
// Duration ("30s"), ByteSize ("1MiB"), TLSFiles and LogConfig, and small
// checks (Required, OneOf, InRange, CheckFile, CheckAddress) that build
// FieldErrors through a Locator. Join collects them in line order.
package yamlcfg
