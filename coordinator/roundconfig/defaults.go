package roundconfig

import (
	"bytes"
	_ "embed"
)

//go:embed defaults/heart-disease.yaml
var heartDisease []byte

// HeartDiseaseDefault returns the round configuration file of the demo
// federation: four hospitals of the UCI Heart Disease data, at least three
// of which must submit each round. The caller may change the copy it gets.
func HeartDiseaseDefault() []byte { return bytes.Clone(heartDisease) }
