package money_test

import (
	"fmt"
	"time"

	"github.com/gpubroker/pod/money"
)

func ExampleAmount_MulRat() {
	perHour := money.MustParse("2.49")
	cost, _ := perHour.MulRat(int64(90*time.Minute), int64(time.Hour))
	withMarkup, _ := cost.MulRat(115, 100)
	fmt.Println(cost, withMarkup, withMarkup.Decimal())
	// Output: $3.735 $4.29525 4.29525
}
