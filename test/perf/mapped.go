package main

import (
	"cmp"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/prometheus/procfs"
)

// mappedSections is how many bytes of each section of the process's
// executable are mapped into its memory now: the pages of the executable's
// file mappings (/proc/<pid>/maps) present as the file's pages
// (/proc/<pid>/pagemap bits 63 and 61), by the ELF section each page starts
// in. RssFile is their sum (the binary is static); where it goes tells code
// run (.text) from data read (.rodata, .gopclntab), and a binary's extra
// packages from its extra work. Pagemap is documented in the kernel's
// admin-guide/mm/pagemap.rst.
func mappedSections(pid int) (map[string]int64, error) {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return nil, err
	}
	f, err := elf.Open(exe)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", exe, err)
	}
	defer func() { _ = f.Close() }() // Only read.
	var sections []*elf.Section
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC != 0 && s.Addr != 0 && s.Type != elf.SHT_NOBITS {
			sections = append(sections, s)
		}
	}
	slices.SortFunc(sections, func(a, b *elf.Section) int { return cmp.Compare(a.Addr, b.Addr) })

	proc, err := procfs.NewProc(pid)
	if err != nil {
		return nil, err
	}
	maps, err := proc.ProcMaps()
	if err != nil {
		return nil, err
	}
	pagemap, err := os.Open(fmt.Sprintf("/proc/%d/pagemap", pid))
	if err != nil {
		return nil, err
	}
	defer func() { _ = pagemap.Close() }() // Only read.

	page := uint64(os.Getpagesize()) //nolint:gosec // A page size is positive.
	out := map[string]int64{}
	for _, m := range maps {
		if m.Pathname != exe {
			continue
		}
		start, end := uint64(m.StartAddr), uint64(m.EndAddr)
		entries := make([]byte, 8*((end-start)/page))
		if _, err := pagemap.ReadAt(entries, int64(start/page*8)); err != nil { //nolint:gosec // A user-space address over the page size fits.
			return nil, fmt.Errorf("cannot read /proc/%d/pagemap: %w", pid, err)
		}
		for i := range uint64(len(entries) / 8) {
			// Present (bit 63) and still the file's page (bit 61): a data
			// page the process wrote is its own anonymous copy, counted in
			// RssAnon.
			if e := binary.LittleEndian.Uint64(entries[8*i:]); e&(1<<63) == 0 || e&(1<<61) == 0 {
				continue
			}
			addr := start + i*page
			// The last section starting on or before the page.
			j, found := slices.BinarySearchFunc(sections, addr, func(s *elf.Section, a uint64) int {
				switch {
				case s.Addr&^(page-1) < a:
					return -1
				case s.Addr&^(page-1) > a:
					return 1
				}
				return 0
			})
			if !found {
				j--
			}
			name := "other"
			if j >= 0 && addr < sections[j].Addr+sections[j].Size {
				name = sections[j].Name
			}
			out[name] += int64(page) //nolint:gosec // The page size fits.
		}
	}
	return out, nil
}

// formatSections is sections in MB, largest first, then by name.
func formatSections(sections map[string]int64) string {
	names := make([]string, 0, len(sections))
	for n := range sections {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(sections[b], sections[a]), strings.Compare(a, b))
	})
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %.2f", n, float64(sections[n])/(1<<20)))
	}
	return strings.Join(parts, ", ")
}
