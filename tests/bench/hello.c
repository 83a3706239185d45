/* The reference for startup cost: a plain C program that prints one line. */
#include <stdio.h>

int main(void)
{
	puts("hello");
	return 0;
}
