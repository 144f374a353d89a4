"""BFCL's AST rules, each pinned by accepted and rejected answers on rows written in the hub schema."""

from __future__ import annotations

from typing import Any

import pytest

from evalclient.tasks.function_calling.bfcl_checker import Check, check_answer, standardize
from evalclient.tasks.function_calling.bfcl_types import UnsupportedType, java_value, js_value


def _param(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": kind, "description": "d", **extra}


def _function(name: str, required: list[str], **properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "description": "d",
        "parameters": {"type": "dict", "properties": properties, "required": required},
    }


TRIP = _function(
    "travel.plan_trip",
    ["city", "days"],
    city=_param("string"),
    days=_param("integer"),
    budget=_param("float"),
    stops=_param("array", items={"type": "string"}),
    hotel=_param("dict"),
    rooms=_param("array", items={"type": "dict"}),
    window=_param("tuple", items={"type": "integer"}),
    refundable=_param("boolean"),
)
TRIP_ANSWER = {
    "travel.plan_trip": {
        "city": ["New York, NY", "NYC"],
        "days": [3],
        "budget": [1500.0, ""],
        "stops": [["Boston", "Hartford"], ""],
        "hotel": [{"stars": [4, 5], "area": ["Midtown", ""]}, ""],
        "rooms": [[{"beds": [2]}, {"beds": [1]}], ""],
        "window": [[9, 17], ""],
        "refundable": ["", True],
    }
}


def _trip(native: bool = False, **arguments: Any) -> Check:
    name = "travel_plan_trip" if native else "travel.plan_trip"
    call = {name: {"city": "NYC", "days": 3, **arguments}}
    return check_answer("simple_python", [TRIP], [call], [TRIP_ANSWER], underscores=native)


def test_the_right_call_passes_with_optional_parameters_left_out() -> None:
    assert _trip() == Check(True)


@pytest.mark.parametrize(
    ("native", "name", "error_type"),
    [
        (False, "travel.plan_trip", None),
        (True, "travel_plan_trip", None),
        (False, "travel_plan_trip", "simple_function_checker:wrong_func_name"),  # prompt mode keeps the dots
        (True, "travel.plan_trip", "simple_function_checker:wrong_func_name"),  # tools were sent with _
        (False, "plan_trip", "simple_function_checker:wrong_func_name"),
    ],
)
def test_function_names_and_their_dots(native: bool, name: str, error_type: str | None) -> None:
    call = {name: {"city": "NYC", "days": 3}}
    assert (
        check_answer("simple_python", [TRIP], [call], [TRIP_ANSWER], underscores=native).error_type
        == error_type
    )


def test_required_unexpected_and_optional_parameters() -> None:
    missing = check_answer("simple_python", [TRIP], [{"travel.plan_trip": {"city": "NYC"}}], [TRIP_ANSWER])
    assert missing.error_type == "simple_function_checker:missing_required"
    assert _trip(pets=True).error_type == "simple_function_checker:unexpected_param"  # not in the function
    answer = {"travel.plan_trip": {k: v for k, v in TRIP_ANSWER["travel.plan_trip"].items() if k != "window"}}
    call = {"travel.plan_trip": {"city": "NYC", "days": 3, "window": [9, 17]}}
    not_in_answer = check_answer("simple_python", [TRIP], [call], [answer])
    assert (
        not_in_answer.error_type == "simple_function_checker:unexpected_param"
    )  # not in the possible answer
    answer = {"travel.plan_trip": {**TRIP_ANSWER["travel.plan_trip"], "budget": [1500.0]}}  # no "": needed
    left_out = check_answer(
        "simple_python", [TRIP], [{"travel.plan_trip": {"city": "NYC", "days": 3}}], [answer]
    )
    assert left_out.error_type == "simple_function_checker:missing_optional"


@pytest.mark.parametrize(
    ("arguments", "error_type"),
    [
        ({"budget": 1500}, None),  # Python int -> float
        ({"budget": 1500.0}, None),
        ({"budget": "1500"}, "type_error:simple"),
        ({"days": 3.0}, "type_error:simple"),  # no float -> int
        ({"days": True}, "type_error:simple"),  # a bool is not an integer
        ({"days": 4}, "value_error:others"),
        ({"refundable": True}, None),
        ({"refundable": 1}, "type_error:simple"),
        ({"window": (9, 17)}, None),  # a tuple is read as a list
        ({"window": [17, 9]}, "value_error:list/tuple"),
        ({"stops": ["boston", "HARTFORD"]}, None),  # elements standardized
        ({"stops": ["Hartford", "Boston"]}, "value_error:list/tuple"),  # order matters
        ({"stops": ["Boston", 7]}, "value_error:list/tuple"),  # "" makes the element types pass
        ({"stops": []}, None),  # "" standardizes to the empty list
    ],
)
def test_types_and_values(arguments: dict[str, Any], error_type: str | None) -> None:
    assert _trip(**arguments).error_type == error_type


@pytest.mark.parametrize(
    ("city", "valid"),
    [("NYC", True), ("new york ny", True), ("New-York, N.Y.", True), ("nyc ", True), ("Newark", False)],
)
def test_strings_are_standardized(city: str, valid: bool) -> None:
    verdict = _trip(city=city)
    assert (verdict.valid, verdict.error_type) == (valid, None if valid else "value_error:string")


def test_standardize_drops_spaces_and_punctuation_and_unifies_quotes() -> None:
    assert standardize("It's 5 p.m., A/B-C_D*E^F") == 'it"s5pmabcdef'


@pytest.mark.parametrize(
    ("hotel", "error_type"),
    [
        ({"stars": 4}, None),  # a key left out of the dict may be "" there
        ({"stars": 5, "area": "midtown"}, None),
        ({"stars": 3}, "value_error:dict_value"),
        ({"stars": 4, "pool": True}, "value_error:dict_key"),
        ({"area": "Midtown"}, "value_error:dict_key"),  # stars has no ""
    ],
)
def test_dict_values(hotel: dict[str, Any], error_type: str | None) -> None:
    assert _trip(hotel=hotel).error_type == error_type


@pytest.mark.parametrize(
    ("rooms", "error_type"),
    [
        ([{"beds": 2}, {"beds": 1}], None),
        ([{"beds": 1}, {"beds": 2}], "value_error:list_dict_count"),  # in order; the last alternative's error
        ([{"beds": 2}], "value_error:list_dict_count"),
    ],
)
def test_lists_of_dicts(rooms: list[dict[str, Any]], error_type: str | None) -> None:
    assert _trip(rooms=rooms).error_type == error_type


def test_element_types_of_a_required_list() -> None:
    function = _function("route", ["stops"], stops=_param("array", items={"type": "string"}))
    answer = [{"route": {"stops": [["Boston", "Hartford"]]}}]
    verdict = check_answer("simple_python", [function], [{"route": {"stops": ["Boston", 7]}}], answer)
    assert verdict.error_type == "type_error:nested"
    verdict = check_answer("simple_python", [function], [{"route": {"stops": "Boston"}}], answer)
    assert verdict.error_type == "type_error:simple"


def test_a_variable_passes_where_the_possible_answer_names_one() -> None:
    function = _function("grow", ["amount"], amount=_param("integer"))
    answer = [{"grow": {"amount": ["principal"]}}]  # the ground truth writes a variable as its name
    assert check_answer("simple_python", [function], [{"grow": {"amount": "principal"}}], answer).valid
    wrong = check_answer("simple_python", [function], [{"grow": {"amount": "interest"}}], answer)
    assert wrong.error_type == "value_error:others"


CONNECT = _function(
    "Db.open",
    ["url", "timeout"],
    url=_param("String"),
    timeout=_param("long"),
    readOnly=_param("boolean"),
    weight=_param("float"),
    ids=_param("Array", items={"type": "integer"}),
    names=_param("ArrayList", items={"type": "String"}),
    options=_param("HashMap"),
    owner=_param("any"),
)
CONNECT_ANSWER = {
    "Db.open": {
        "url": ["jdbc:h2:mem"],
        "timeout": [5000],
        "readOnly": [True, ""],
        "weight": [0.5, ""],
        "ids": [[1, 2], ""],
        "names": [["a", "b"], ""],
        "options": [{"depth": [3]}, ""],
        "owner": ["currentUser", ""],
    }
}


@pytest.mark.parametrize(
    ("arguments", "error_type"),
    [
        ({"timeout": "5000L"}, None),
        ({"timeout": "5000"}, "type_error:simple"),  # a Java long needs its L
        ({"timeout": 5000}, "type_error:java"),  # Java values come as source strings
        ({"readOnly": "true"}, None),
        ({"readOnly": "True"}, "type_error:simple"),
        ({"weight": "0.5f"}, None),
        ({"weight": "0.5"}, "type_error:simple"),  # a Java float needs its f
        ({"ids": "new int[]{1, 2}"}, None),
        ({"ids": "new int[]{2, 1}"}, "value_error:list/tuple"),
        ({"names": 'new ArrayList<>(Arrays.asList("a", "b"))'}, None),
        ({"options": 'new HashMap<String, Integer>() {{ put("depth", 3); }}'}, None),
        ({"options": 'new HashMap<String, Integer>() {{ put("depth", 4); }}'}, "value_error:dict_value"),
        ({"owner": "currentUser"}, None),
    ],
)
def test_java_values_are_converted_from_source_text(
    arguments: dict[str, Any], error_type: str | None
) -> None:
    call = {"Db.open": {"url": "jdbc:h2:mem", "timeout": "5000L", **arguments}}
    assert check_answer("simple_java", [CONNECT], [call], [CONNECT_ANSWER]).error_type == error_type


CHART = _function(
    "drawChart",
    ["series"],
    series=_param("array", items={"type": "integer"}),
    title=_param("String"),
    ratio=_param("float"),
    big=_param("Bigint"),
    animate=_param("Boolean"),
    options=_param("dict"),
)
CHART_ANSWER = {
    "drawChart": {
        "series": [[4, 8]],
        "title": ["Sales", ""],
        "ratio": [4.0, ""],
        "big": [9007199254740993, ""],
        "animate": [False, ""],
        "options": [{"color": ["blue"]}, ""],
    }
}


@pytest.mark.parametrize(
    ("arguments", "error_type"),
    [
        ({"series": "[4, 8]"}, None),
        ({"series": "new Array(4, 8)"}, None),
        ({"series": "[8, 4]"}, "value_error:list/tuple"),
        ({"series": [4, 8]}, "type_error:js"),
        ({"title": "'Sales'"}, None),  # the quotes are removed
        ({"ratio": "4"}, None),  # a JavaScript float needs no point
        ({"ratio": "4.0"}, None),
        ({"big": "9007199254740993n"}, None),
        ({"big": "9007199254740993"}, "type_error:simple"),
        ({"animate": "false"}, None),
        ({"options": "{color: 'blue'}"}, None),
        ({"options": "{color: 'red'}"}, "value_error:dict_value"),
    ],
)
def test_javascript_values_are_converted_from_source_text(
    arguments: dict[str, Any], error_type: str | None
) -> None:
    call = {"drawChart": {"series": "[4, 8]", **arguments}}
    assert check_answer("simple_javascript", [CHART], [call], [CHART_ANSWER]).error_type == error_type


WEATHER = _function("weather.forecast", ["city"], city=_param("string"), days=_param("integer"))
AIR = _function("weather.air_quality", ["city"], city=_param("string"))
FORECAST = {"weather.forecast": {"city": ["Lisbon"], "days": [3, ""]}}


@pytest.mark.parametrize(
    ("calls", "error_type"),
    [
        ([{"weather.forecast": {"city": "Lisbon"}}], None),
        ([{"weather.air_quality": {"city": "Lisbon"}}], "simple_function_checker:wrong_func_name"),
        ([{"weather.forecast": {"city": "Lisbon"}}] * 2, "multiple_function_checker:wrong_count"),
        ([], "multiple_function_checker:wrong_count"),
    ],
)
def test_multiple_checks_the_one_expected_function(
    calls: list[dict[str, Any]], error_type: str | None
) -> None:
    assert check_answer("multiple", [AIR, WEATHER], calls, [FORECAST]).error_type == error_type


def test_simple_needs_exactly_one_call() -> None:
    two = [{"weather.forecast": {"city": "Lisbon"}}] * 2
    assert (
        check_answer("simple_python", [WEATHER], two, [FORECAST]).error_type
        == "simple_function_checker:wrong_count"
    )


PRICE = _function("stock.price", ["symbol"], symbol=_param("string"))
PRICES = [{"stock.price": {"symbol": ["AAPL"]}}, {"stock.price": {"symbol": ["MSFT"]}}]


@pytest.mark.parametrize(
    ("symbols", "error_type"),
    [
        (["AAPL", "MSFT"], None),
        (["MSFT", "AAPL"], None),  # any order
        (["AAPL"], "parallel_function_checker_no_order:wrong_count"),
        (["AAPL", "AAPL"], "parallel_function_checker_no_order:cannot_find_match"),  # each call used once
        (["AAPL", "GOOG"], "parallel_function_checker_no_order:cannot_find_match"),
    ],
)
def test_parallel_calls_match_in_any_order(symbols: list[str], error_type: str | None) -> None:
    calls = [{"stock.price": {"symbol": s}} for s in symbols]
    assert check_answer("parallel", [PRICE], calls, PRICES).error_type == error_type


def test_parallel_multiple_matches_each_expected_call_to_its_function() -> None:
    expected = [FORECAST, {"stock.price": {"symbol": ["AAPL"]}}]
    calls = [{"stock.price": {"symbol": "aapl"}}, {"weather.forecast": {"city": "lisbon", "days": 3}}]
    assert check_answer("parallel_multiple", [WEATHER, PRICE], calls, expected).valid
    calls[1] = {"weather.air_quality": {"city": "Lisbon"}}
    wrong = check_answer("parallel_multiple", [WEATHER, PRICE, AIR], calls, expected)
    assert wrong.error_type == "parallel_function_checker_no_order:cannot_find_match"


@pytest.mark.parametrize(
    ("text", "declared", "item", "value"),
    [
        ("-12", "integer", None, -12),
        ("12L", "long", None, 12),
        ("12", "long", None, "12"),
        ("1.5e2f", "float", None, 150.0),
        ("1.5", "double", None, 1.5),
        ("false", "boolean", None, False),
        ("'c'", "char", None, "'c'"),  # BFCL's char pattern matches nothing
        ("new long[]{1L, 2L}", "Array", "long", [1, 2]),
        ("new String[]{a, b}", "Array", "String", ["a", "b"]),
        ('new ArrayList<String>() {{ add("x"); add("y"); }}', "ArrayList", "String", ["x", "y"]),
        ("new ArrayList<>()", "ArrayList", "integer", []),
        (
            'new HashMap<String, Object>() {{ put("k", 1.5f); put("b", true); }}',
            "HashMap",
            None,
            {"k": 1.5, "b": True},
        ),
        ("new HashMap<>()", "HashMap", None, {}),
        ("x", "String", None, "x"),
    ],
)
def test_java_converter(text: str, declared: str, item: str | None, value: Any) -> None:
    assert java_value(text, declared, item) == value


@pytest.mark.parametrize(
    ("text", "declared", "item", "value"),
    [
        ('"quoted"', "String", None, "quoted"),
        ("7", "float", None, 7.0),
        ("7.5", "integer", None, "7.5"),
        ("12n", "Bigint", None, 12),
        ("[1, 'two', true]", "array", None, [1, "two", True]),
        ("[[1, 2], [3, 4]]", "array", "array", [[1, 2], [3, 4]]),
        ("['a', 'b']", "array", "String", ["a", "b"]),
        ("{a: 1, b: 'x', c: [1, 2]}", "dict", None, {"a": 1, "b": "x", "c": [1, 2]}),
        ("{}", "dict", None, {}),
        ("not an array", "array", "integer", "not an array"),
    ],
)
def test_javascript_converter(text: str, declared: str, item: str | None, value: Any) -> None:
    assert js_value(text, declared, item) == value


def test_types_bfcl_does_not_convert_are_reported() -> None:
    with pytest.raises(UnsupportedType):
        java_value("x", "Queue")
    function = _function("f", ["x"], x=_param("number"))
    with pytest.raises(UnsupportedType, match="no python type 'number'"):
        check_answer("simple_python", [function], [{"f": {"x": 1}}], [{"f": {"x": [1]}}])
