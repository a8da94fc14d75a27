package heartdisease

import "fmt"

// Prepare loads the data file at path, splits it stratified by label (see Split)
// and standardises both parts with a Standardizer fitted on the training part, as a
// hospital does with its own data. The benchmark uses a test fraction of 0.34.
func Prepare(path string, testFraction float64, seed uint64) (train, test Dataset, err error) {
	ds, _, err := Load(path)
	if err != nil {
		return Dataset{}, Dataset{}, err
	}
	train, test, _, err = PrepareDataset(ds, testFraction, seed)
	if err != nil {
		return Dataset{}, Dataset{}, fmt.Errorf("preparing %s: %w", path, err)
	}
	return train, test, nil
}

// PrepareDataset is Prepare for a dataset already in memory; it also returns the
// Standardizer fitted on the training part.
func PrepareDataset(ds Dataset, testFraction float64, seed uint64) (train, test Dataset, s Standardizer, err error) {
	train, test, err = Split(ds, testFraction, seed)
	if err != nil {
		return Dataset{}, Dataset{}, Standardizer{}, err
	}
	s = FitStandardizer(train)
	if train, err = s.Transform(train); err != nil {
		return Dataset{}, Dataset{}, Standardizer{}, err
	}
	if test, err = s.Transform(test); err != nil {
		return Dataset{}, Dataset{}, Standardizer{}, err
	}
	return train, test, s, nil
}
