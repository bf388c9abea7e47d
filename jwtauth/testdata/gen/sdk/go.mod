module gen
go 1.26
require github.com/golang-jwt/jwt/v4 v4.5.2
