package store

import "math"

// Offer prices are still float64 dollars per hour in package providers;
// micros and usd convert them at the edge of their integer columns. Budget
// amounts do not pass through here: they are money.Amount end to end.

func micros(usd float64) int64 { return int64(math.Round(usd * 1e6)) }

func usd(m int64) float64 { return float64(m) / 1e6 }
