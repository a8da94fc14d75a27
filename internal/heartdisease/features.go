package heartdisease

// NumFeatures is the number of features per example after preprocessing.
const NumFeatures = 13

// FeatureNames names the features of Dataset.X in column order. The cp_* and
// restecg_* features are one-hot indicators (the first levels, cp=1 and
// restecg=0, are the dropped reference levels).
var FeatureNames = []string{
	"age",
	"sex",
	"cp_2",
	"cp_3",
	"cp_4",
	"trestbps",
	"chol",
	"fbs",
	"restecg_1",
	"restecg_2",
	"thalach",
	"exang",
	"oldpeak",
}

// numColumns is the number of comma-separated columns in a raw record.
const numColumns = 14

// Indices of the raw columns.
const (
	colAge = iota
	colSex
	colCP
	colTrestbps
	colChol
	colFBS
	colRestECG
	colThalach
	colExang
	colOldpeak
	colSlope
	colCA
	colThal
	colNum
)

// columnKind says which values a raw column accepts.
type columnKind int

const (
	kindNumber   columnKind = iota // any finite number
	kindCategory                   // an integer in [lo, hi]
)

// column describes one raw column.
type column struct {
	name    string
	kind    columnKind
	lo, hi  int
	dropped bool // not used as a feature, but still validated
}

// columns describes the 14 raw columns in file order.
var columns = [numColumns]column{
	colAge:      {name: "age"},
	colSex:      {name: "sex", kind: kindCategory, lo: 0, hi: 1},
	colCP:       {name: "cp", kind: kindCategory, lo: 1, hi: 4},
	colTrestbps: {name: "trestbps"},
	colChol:     {name: "chol"},
	colFBS:      {name: "fbs", kind: kindCategory, lo: 0, hi: 1},
	colRestECG:  {name: "restecg", kind: kindCategory, lo: 0, hi: 2},
	colThalach:  {name: "thalach"},
	colExang:    {name: "exang", kind: kindCategory, lo: 0, hi: 1},
	colOldpeak:  {name: "oldpeak"},
	colSlope:    {name: "slope", dropped: true},
	colCA:       {name: "ca", dropped: true},
	colThal:     {name: "thal", dropped: true},
	colNum:      {name: "num", kind: kindCategory, lo: 0, hi: 4},
}

// features turns a complete raw record into the feature vector and the label.
func features(rec *[numColumns]float64) ([]float64, float64) {
	x := make([]float64, 0, NumFeatures)
	x = append(x, rec[colAge], rec[colSex])
	x = appendOneHot(x, rec[colCP], 1, 4)
	x = append(x, rec[colTrestbps], rec[colChol], rec[colFBS])
	x = appendOneHot(x, rec[colRestECG], 0, 2)
	x = append(x, rec[colThalach], rec[colExang], rec[colOldpeak])
	y := 0.0
	if rec[colNum] > 0 {
		y = 1
	}
	return x, y
}

// appendOneHot appends indicators for levels lo+1..hi of v (level lo is the
// dropped reference level).
func appendOneHot(x []float64, v float64, lo, hi int) []float64 {
	for level := lo + 1; level <= hi; level++ {
		ind := 0.0
		if int(v) == level {
			ind = 1
		}
		x = append(x, ind)
	}
	return x
}
