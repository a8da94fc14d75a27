// Package heartdisease loads and preprocesses the UCI Heart Disease data: the
// processed records of four hospitals (Cleveland, Hungary, Switzerland, Long Beach
// VA), one file per hospital, as shipped in data/heart-disease of this repository.
//
// # Format
//
// Each file is comma-separated text without a header, one record per line, 14
// columns: age, sex, cp, trestbps, chol, fbs, restecg, thalach, exang, oldpeak,
// slope, ca, thal, num. A '?' marks a missing value. Blank lines are ignored; a
// trailing carriage return and spaces around a value are tolerated.
//
// # Preprocessing
//
// Parse applies the common federated benchmark preprocessing described in the
// data's README:
//
//   - slope, ca and thal are dropped (mostly missing outside Cleveland);
//   - rows that still have a missing value are dropped (303, 261, 46 and 130 rows
//     remain, 740 in all);
//   - cp (chest pain type, levels 1-4) and restecg (resting ECG, levels 0-2) are
//     one-hot encoded with the first level dropped;
//   - num (0-4) is binarised: 0 = no disease, 1-4 = disease.
//
// The README says this gives 16 features, but the procedure gives 13: the 8
// remaining columns (age, sex, trestbps, chol, fbs, thalach, exang, oldpeak) plus
// 3 indicators for cp and 2 for restecg. This package implements the procedure,
// so NumFeatures is 13; FeatureNames lists them in order.
//
// Values are validated even in the dropped columns: every value must be '?' or a
// finite number, sex, fbs and exang must be 0 or 1, and cp, restecg and num must be
// integers in their level ranges. A violation is a *ParseError naming the file,
// line and column. Error messages never repeat the offending value, because the
// files hold patient records.
//
// Split makes a stratified, seeded train/test split, FitStandardizer and
// Standardizer.Apply standardise features with the training statistics, and
// Prepare chains loading, splitting and standardising for one hospital.
//
// The data is licensed CC BY 4.0; see data/heart-disease/README.md for the
// attribution that must ship with it.
package heartdisease
