package main

func removeImage() {}
