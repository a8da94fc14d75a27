package cli

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/confed/confed/coordinator/roundconfig"
	"github.com/confed/confed/internal/heartdisease"
	"github.com/confed/confed/internal/modelio"
	"github.com/confed/confed/participant"
	"github.com/confed/confed/participant/trainer"
)

// Summary is the demo's result, also written as summary.json.
type Summary struct {
	Federation  string       `json:"federation"`
	Rounds      int          `json:"rounds"`
	ModelRound  uint64       `json:"model_round"`
	ModelSHA256 string       `json:"model_sha256"`
	TEE         string       `json:"tee"`
	Insecure    bool         `json:"insecure"`
	Hospitals   []SummaryRow `json:"hospitals"`
	Pooled      SummaryRow   `json:"pooled"`
	Seconds     float64      `json:"seconds"`
}

// SummaryRow gives test accuracies on one test set.
type SummaryRow struct {
	Name        string  `json:"name"`
	TrainN      int     `json:"train_examples"`
	TestN       int     `json:"test_examples"`
	Federated   float64 `json:"federated_accuracy"`
	LocalOnly   float64 `json:"local_only_accuracy"`
	Centralised float64 `json:"centralised_accuracy"`
}

type hospitalData struct {
	h           heartdisease.Hospital
	train, test heartdisease.Dataset // raw features
}

// summarize evaluates the federated model against two references trained
// with the same trainer and the same number of training epochs: each
// hospital alone (standardised with its own statistics), and all hospitals'
// training data pooled (standardised with the pooled statistics) — what
// federation tries to reach without pooling. The federated model is
// evaluated with the feature statistics it carries.
func summarize(final *modelio.Downloaded, rc roundconfig.Config, dataDir string) (Summary, error) {
	sites, err := loadSites(dataDir)
	if err != nil {
		return Summary{}, err
	}
	fed, err := participant.ModelToWeights(final.Model)
	if err != nil {
		return Summary{}, err
	}
	fedScaler, ok, err := participant.ModelScaler(final.Model)
	if err != nil || !ok {
		return Summary{}, fmt.Errorf("the final model carries no feature statistics (err=%v)", err)
	}
	// Round 1 computes the feature statistics; the other rounds train.
	p := trainer.Params{
		LocalEpochs: max(rc.Rounds-1, 1) * rc.Training.LocalEpochs, LearningRate: rc.Training.LearningRate,
		BatchSize: rc.Training.BatchSize, L2: rc.Training.L2, Seed: rc.Training.Seed,
	}
	var allTrain, allTest []heartdisease.Dataset
	for _, s := range sites {
		allTrain = append(allTrain, s.train)
		allTest = append(allTest, s.test)
	}
	pooledTrain, pooledTest := heartdisease.Concat(allTrain...), heartdisease.Concat(allTest...)
	central, err := trainStandardised(pooledTrain, p)
	if err != nil {
		return Summary{}, fmt.Errorf("centralised reference: %w", err)
	}
	sum := Summary{
		Federation: rc.Federation, Rounds: rc.Rounds, ModelRound: final.Verified.Manifest.GetRound(),
		ModelSHA256: hex.EncodeToString(final.SHA256[:]), TEE: final.Verified.Claims.Kind, Insecure: final.Verified.Claims.Insecure,
	}
	fedModel := scaled{fed, fedScaler}
	pooledLocalCorrect, pooledN := 0.0, 0
	for _, s := range sites {
		local, err := trainStandardised(s.train, p)
		if err != nil {
			return Summary{}, fmt.Errorf("local reference of %s: %w", s.h.Name, err)
		}
		row, err := accuracies(s.h.Name, s.train.Len(), s.test, fedModel, local, central)
		if err != nil {
			return Summary{}, err
		}
		sum.Hospitals = append(sum.Hospitals, row)
		pooledLocalCorrect += row.LocalOnly * float64(row.TestN)
		pooledN += row.TestN
	}
	pooled, err := accuracies("pooled", pooledTrain.Len(), pooledTest, fedModel, fedModel, central)
	if err != nil {
		return Summary{}, err
	}
	pooled.LocalOnly = pooledLocalCorrect / float64(pooledN)
	sum.Pooled = pooled
	return sum, nil
}

func loadSites(dataDir string) ([]hospitalData, error) {
	pd := participant.Default().Data
	var sites []hospitalData
	for _, h := range heartdisease.Hospitals {
		all, _, err := heartdisease.Load(filepath.Join(dataDir, h.File))
		if err != nil {
			return nil, err
		}
		train, test, err := heartdisease.Split(all, pd.TestFraction, pd.SplitSeed)
		if err != nil {
			return nil, err
		}
		sites = append(sites, hospitalData{h, train, test})
	}
	return sites, nil
}

// scaled is a model with the standardisation it expects of its inputs.
type scaled struct {
	w trainer.Weights
	s heartdisease.Standardizer
}

func (m scaled) accuracy(raw heartdisease.Dataset) (float64, error) {
	ds, err := m.s.Transform(raw)
	if err != nil {
		return 0, err
	}
	met, err := trainer.Evaluate(m.w, ds)
	return met.Accuracy, err
}

// trainStandardised fits a standardiser on raw training data and trains
// from zero weights on the standardised data.
func trainStandardised(raw heartdisease.Dataset, p trainer.Params) (scaled, error) {
	s := heartdisease.FitStandardizer(raw)
	ds, err := s.Transform(raw)
	if err != nil {
		return scaled{}, err
	}
	w, _, err := trainer.Train(trainer.Zero(heartdisease.NumFeatures), ds, p)
	return scaled{w, s}, err
}

// accuracies evaluates the three models on one raw test set.
func accuracies(name string, trainN int, test heartdisease.Dataset, fed, local, central scaled) (SummaryRow, error) {
	row := SummaryRow{Name: name, TrainN: trainN, TestN: test.Len()}
	for _, m := range []struct {
		m   scaled
		out *float64
	}{{fed, &row.Federated}, {local, &row.LocalOnly}, {central, &row.Centralised}} {
		acc, err := m.m.accuracy(test)
		if err != nil {
			return row, fmt.Errorf("evaluating on %s: %w", name, err)
		}
		*m.out = acc
	}
	return row, nil
}

func printSummary(w io.Writer, s Summary) {
	fmt.Fprintf(w, "\nTest accuracy of the federated model (round %d, %s%s) against local-only and centralised training:\n\n",
		s.ModelRound, s.TEE, map[bool]string{true: ", INSECURE simulated TEE", false: ""}[s.Insecure])
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "test set\ttrain\ttest\tfederated\tlocal only\tcentralised\t")
	for _, r := range append(append([]SummaryRow{}, s.Hospitals...), s.Pooled) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t\n", r.Name, r.TrainN, r.TestN, r.Federated, r.LocalOnly, r.Centralised)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nlocal only: each hospital's own model on its own test split (pooled row: their test-size-weighted mean).")
	fmt.Fprintln(w, "centralised: one model trained on all hospitals' training data pooled, the reference federation tries to reach.")
}

func writeSummary(path string, s Summary) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
