package roles_test

import (
	"fmt"
	"log"

	"github.com/masrouter/masrouter/roles"
	"github.com/masrouter/masrouter/tasks"
)

func ExampleDefault() {
	r, err := roles.Default()
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range r.Domains() {
		fmt.Println(d, len(r.Domain(d)), "roles")
	}
	// Output:
	// code 10 roles
	// commonsense 14 roles
	// math 12 roles
}

func ExampleRegistry_Get() {
	r, err := roles.Default()
	if err != nil {
		log.Fatal(err)
	}
	role, err := r.Get(tasks.DomainCommonsense, "Doctor")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(role.Kind)
	fmt.Println(role.OutputFormat)
	// Output:
	// solver
	// End your reply with a final line of exactly the form "The answer is (X)", where X is the letter A, B, C or D of the single best option. Write nothing after that line.
}

func ExampleRegistry_LoadDir() {
	r, err := roles.Default()
	if err != nil {
		log.Fatal(err)
	}
	// testdata/example holds one user role, a math verifier.
	if err := r.LoadDir("testdata/example"); err != nil {
		log.Fatal(err)
	}
	names := r.Names(tasks.DomainMath)
	role, err := r.Get(tasks.DomainMath, names[len(names)-1])
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(role.Name, role.Kind, role.Expertise)
	// Output:
	// Units Checker verifier [units conversions rates]
}
