"""localnet"""
