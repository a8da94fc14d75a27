package heartdisease

import "path/filepath"

// Hospital is one of the four data sources.
type Hospital struct {
	Name  string // short identifier, e.g. "cleveland"
	File  string // data file name inside the data directory
	Title string // the institution's name
}

// Path returns the hospital's data file inside dir.
func (h Hospital) Path(dir string) string { return filepath.Join(dir, h.File) }

// Hospitals lists the four hospitals in the order of the data's README.
var Hospitals = []Hospital{
	{Name: "cleveland", File: "cleveland.data", Title: "Cleveland Clinic Foundation"},
	{Name: "hungary", File: "hungarian.data", Title: "Hungarian Institute of Cardiology, Budapest"},
	{Name: "switzerland", File: "switzerland.data", Title: "University Hospitals of Zurich and Basel"},
	{Name: "long-beach-va", File: "va.data", Title: "V.A. Medical Center, Long Beach"},
}

// HospitalByName returns the hospital with the given Name.
func HospitalByName(name string) (Hospital, bool) {
	for _, h := range Hospitals {
		if h.Name == name {
			return h, true
		}
	}
	return Hospital{}, false
}
