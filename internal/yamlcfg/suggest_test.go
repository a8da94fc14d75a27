package yamlcfg

import "testing"

func TestSuggest(t *testing.T) {
	keys := []string{"expected", "min", "learning_rate", "l2", "local_epochs", "tags", "count"}
	tests := []struct{ got, want string }{
		{"minimum", "min"},
		{"mn", "min"},
		{"max", ""},
		{"expcted", "expected"},
		{"learning-rate", "learning_rate"},
		{"LearningRate", "learning_rate"},
		{"learning_rte", "learning_rate"},
		{"cuont", "count"},
		{"tag", "tags"},
		{"l1", ""},
		{"lr", ""},
		{"batch_size", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Suggest(tt.got, keys); got != tt.want {
			t.Errorf("Suggest(%q) = %q, want %q", tt.got, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"kitten", "sitting", 3},
		{"cuont", "count", 1}, {"ab", "ba", 1}, {"héllo", "hello", 1},
	}
	for _, tt := range tests {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
